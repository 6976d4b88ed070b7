"""Snapdragon HTP through ONNX Runtime's QNN execution provider.

    float Keras model --tf2onnx--> model_float.onnx
        --onnxruntime.quantization (QNN QDQ config, calibration set)--> model_qdq.onnx
        --QNN EP, HTP backend, CPU fallback disabled--> runs on the HTP emulator (x86)
        --ep.context_enable, soc_model per SoC--> model_ctx_<SoC>.onnx + model_ctx_<SoC>_qnn.bin

The QNN EP (package onnxruntime-qnn 2.x) is a plugin execution provider: it is registered with
`onnxruntime.register_execution_provider_library` and selected with
`SessionOptions.add_provider_for_devices`. With `session.disable_cpu_ep_fallback=1` a model
the HTP cannot run fully fails at session creation; the EP's framework-op trace names the ops.

This module builds (export, quantization, context binaries, the build's checks); the EP
sessions are in qnn_ep.py; qnn_eval.py is what the harness runs to evaluate on the HTP emulator.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from edgekit import resources
from edgekit.errors import CheckFailed, UserError
from edgekit.npu import NpuBuildResult, OpPlacement, budget_figures, say as _say, write_report
from edgekit.npu import roofline
from edgekit.npu.qnn_ep import SOC_MODELS, HtpUnsupported, _native_stdout_to_stderr, _ep_devices, _ep_options, cpu_session, htp_session, read_op_trace, run_session, _unsupported_from_trace  # noqa: F401
from edgekit.targets.schema import TargetProfile

_QUANT_TYPES = {"uint8": "QUInt8", "int8": "QInt8", "uint16": "QUInt16", "int16": "QInt16"}
_TYPE_BYTES = {"uint8": 1, "int8": 1, "uint16": 2, "int16": 2}

# How many calibration samples the per-channel/per-tensor measurement runs on the emulator.
_MEASURE_SAMPLES = 32

Progress = Optional[Callable[[str], None]]


# --------------------------------------------------------------------------------------------
# Export and quantization


def export_onnx(keras_path: Path, out_path: Path, opset: int = 17) -> Path:
    """Float Keras (.keras) -> ONNX with batch fixed at 1, via a tf.function (Keras 3 models
    are not accepted by tf2onnx.convert.from_keras)."""
    import tensorflow as tf
    import tf2onnx

    import keras

    keras_path = Path(keras_path)
    if not keras_path.is_file():
        raise UserError(f"{keras_path}: trained float weights not found; train the model first "
                        f"(`edgekit train --model <name>`)")
    model = keras.models.load_model(keras_path, compile=False)
    shape = (1, *[int(d) for d in model.inputs[0].shape[1:]])
    spec = (tf.TensorSpec(shape, tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def forward(x):
        return model(x, training=False)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    tf2onnx.convert.from_function(forward, input_signature=spec, opset=opset, output_path=str(tmp))
    os.replace(tmp, out_path)
    return out_path


class _Calibration:
    """A CalibrationDataReader (duck-typed: get_next/rewind) over a float32 array [N, ...]."""

    def __init__(self, input_name: str, data: np.ndarray):
        self.input_name = input_name
        self.data = data
        self.i = 0

    def get_next(self):
        if self.i >= len(self.data):
            return None
        x = self.data[self.i:self.i + 1].astype(np.float32)
        self.i += 1
        return {self.input_name: x}

    def rewind(self):
        self.i = 0


@contextlib.contextmanager
def _root_logger_quiet():
    """onnxruntime.quantization warns on the root logger to "run pre-processing", which
    qnn_preprocess_model is: keep that out of the command's output."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_qdq(float_onnx: Path, out_path: Path, calibration: np.ndarray, activation_type: str,
                 weight_type: str, per_channel: bool) -> Path:
    """Static QDQ quantization with the QNN-specific config of onnxruntime.quantization."""
    from onnxruntime.quantization import QuantType, quantize
    from onnxruntime.quantization.execution_providers.qnn import (get_qnn_qdq_config,
                                                                  qnn_preprocess_model)

    out_path = Path(out_path)
    work = Path(tempfile.mkdtemp(prefix=".qdq_", dir=out_path.parent))
    try:
        pre = work / "preprocessed.onnx"
        src = pre if qnn_preprocess_model(str(float_onnx), str(pre)) else Path(float_onnx)
        name = cpu_session(src).get_inputs()[0].name
        reader = _Calibration(name, calibration)
        with _root_logger_quiet():
            cfg = get_qnn_qdq_config(str(src), reader,
                                     activation_type=getattr(QuantType, _QUANT_TYPES[activation_type]),
                                     weight_type=getattr(QuantType, _QUANT_TYPES[weight_type]),
                                     per_channel=per_channel)
            tmp = work / "model_qdq.onnx"
            quantize(str(src), str(tmp), cfg)
        os.replace(tmp, out_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_path


# --------------------------------------------------------------------------------------------
# Comparing outputs


def compare_outputs(a: np.ndarray, b: np.ndarray) -> dict:
    """How close two [N, classes] score arrays are: top-1 agreement and absolute differences."""
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    d = np.abs(a - b)
    return {
        "n": int(len(a)),
        "top1_agreement": float(np.mean(a.argmax(1) == b.argmax(1))) if len(a) else 0.0,
        "max_abs_diff": float(d.max()) if d.size else 0.0,
        "mean_abs_diff": float(d.mean()) if d.size else 0.0,
    }


@dataclass
class QuantChoice:
    scheme: str  # "per-tensor" | "per-channel"
    path: Path
    all_on_htp: bool
    unsupported: list[OpPlacement] = field(default_factory=list)
    vs_float: Optional[dict] = None  # HTP emulator outputs vs the float ONNX model
    error: str = ""

    def row(self) -> dict:
        return {"weights": self.scheme, "all_ops_on_htp": self.all_on_htp,
                "unsupported_ops": [f"{o.op_type} ({o.name})" for o in self.unsupported],
                "htp_vs_float": self.vs_float, "error": self.error}


def measure_weight_schemes(float_onnx: Path, calibration: np.ndarray, activation_type: str,
                           weight_type: str, out_dir: Path, progress: Progress = None) -> list[QuantChoice]:
    """Quantize per-tensor and per-channel, run each on the HTP emulator with fallback
    disabled, and measure coverage and agreement with the float model on calibration inputs."""
    probe = calibration[:_MEASURE_SAMPLES]
    float_out = run_session(cpu_session(float_onnx), probe)
    choices = []
    for per_channel in (False, True):
        scheme = "per-channel" if per_channel else "per-tensor"
        _say(progress, f"quantizing QDQ ({activation_type} activations, {weight_type} {scheme} weights)")
        path = out_dir / f"model_qdq_{scheme.replace('-', '_')}.onnx"
        quantize_qdq(float_onnx, path, calibration, activation_type, weight_type, per_channel)
        _say(progress, f"running the {scheme} model on the HTP emulator")
        try:
            sess = htp_session(path)
        except HtpUnsupported as exc:
            choices.append(QuantChoice(scheme, path, False, exc.ops, error=str(exc)))
            continue
        choices.append(QuantChoice(scheme, path, True, [], compare_outputs(run_session(sess, probe), float_out)))
    return choices


def pick_scheme(choices: list[QuantChoice]) -> QuantChoice:
    """The scheme that keeps every op on the HTP and agrees best with the float model."""
    ok = [c for c in choices if c.all_on_htp]
    if not ok:
        ops = {f"{o.op_type} ({o.name})": o for c in choices for o in c.unsupported
               if o.op_type not in ("QuantizeLinear", "DequantizeLinear")}
        rows = [{"op": k, "reason": o.reason} for k, o in ops.items()]
        detail = "; ".join(c.error for c in choices if c.error)
        raise CheckFailed(f"snapdragon-htp: the model does not run entirely on the HTP with either "
                          f"weight scheme: {detail}", rows)
    return max(ok, key=lambda c: (c.vs_float["top1_agreement"], -c.vs_float["mean_abs_diff"]))


# --------------------------------------------------------------------------------------------
# Context binaries


@dataclass
class ContextBinary:
    soc: str
    soc_model: int
    model: Path  # the EPContext .onnx that references the binary
    binary: Path
    bytes: int
    sha256: str
    htp_arch: Optional[int]  # read back from the binary's own header text

    def row(self) -> dict:
        return {"soc": self.soc, "soc_model": self.soc_model, "htp_arch": self.htp_arch,
                "model": self.model.name, "binary": self.binary.name, "bytes": self.bytes,
                "sha256": self.sha256}


def compile_context(qdq_path: Path, soc: str, out_dir: Path) -> ContextBinary:
    """Compile the QDQ model offline into a QNN context binary for one SoC."""
    import onnxruntime as ort

    if soc not in SOC_MODELS:
        known = ", ".join(sorted(SOC_MODELS))
        raise UserError(f"npu.socs: unknown SoC '{soc}' (known: {known}); use one of those names")
    out_dir = Path(out_dir)
    work = Path(tempfile.mkdtemp(prefix=f".ctx_{soc}_", dir=out_dir))
    try:
        ctx_model = work / f"model_ctx_{soc}.onnx"
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        so.add_session_config_entry("ep.context_enable", "1")
        so.add_session_config_entry("ep.context_embed_mode", "0")
        so.add_session_config_entry("ep.context_file_path", str(ctx_model))
        so.add_provider_for_devices(_ep_devices(), _ep_options(soc=soc))
        try:
            with _native_stdout_to_stderr():
                ort.InferenceSession(str(qdq_path), sess_options=so)
        except Exception as exc:
            raise CheckFailed(f"snapdragon-htp: compiling the context binary for {soc} failed: "
                              f"{str(exc).strip()[:300]}") from None
        bins = sorted(work.glob("*.bin"))
        if not ctx_model.is_file() or len(bins) != 1:
            raise CheckFailed(f"snapdragon-htp: QNN wrote no context binary for {soc} "
                              f"(files: {[p.name for p in work.iterdir()]})")
        data = bins[0].read_bytes()
        m = re.search(rb"soc_type=(SM\d+);arch=(\d+)", data)
        if m is None or m.group(1).decode() != soc:
            found = m.group(1).decode() if m else "none"
            raise CheckFailed(f"snapdragon-htp: the context binary for {soc} records SoC {found}")
        final_bin = out_dir / bins[0].name
        final_model = out_dir / ctx_model.name
        os.replace(bins[0], final_bin)
        os.replace(ctx_model, final_model)  # the model last: it is what marks the pair complete
        return ContextBinary(soc=soc, soc_model=SOC_MODELS[soc], model=final_model, binary=final_bin,
                             bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                             htp_arch=int(m.group(2)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# build


def _check_target(target: TargetProfile) -> None:
    if target.npu is None or target.npu.kind != "hexagon-htp":
        raise UserError(f"target {target.name}: npu: the QNN build needs a hexagon-htp NPU, this profile has "
                        f"{'none' if target.npu is None else target.npu.kind}; use a Snapdragon HTP profile "
                        f"such as snapdragon-htp")
    npu = target.npu
    for fld in ("activation_type", "weight_type", "dram_bandwidth_gbps"):
        if getattr(npu, fld) is None:
            raise UserError(f"target {target.name}: npu.{fld}: missing; the QNN build needs it")
    if not npu.socs:
        raise UserError(f"target {target.name}: npu.socs: empty; name the SoCs to compile "
                        f"context binaries for (e.g. [SM8650])")
    for soc in npu.socs:
        if soc not in SOC_MODELS:
            raise UserError(f"target {target.name}: npu.socs: unknown SoC '{soc}'; known: "
                            f"{', '.join(sorted(SOC_MODELS))}")


def build_from_keras(keras_path: Path, calibration: np.ndarray, target: TargetProfile, out_dir: Path,
                     model_name: str, progress: Progress = None) -> NpuBuildResult:
    """The whole QNN build from a float Keras file and a calibration array (no dataset needed)."""
    _check_target(target)
    npu = target.npu
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    calibration = np.asarray(calibration, dtype=np.float32)
    if calibration.ndim < 2 or len(calibration) == 0:
        raise UserError("calibration set: empty; run `edgekit data prepare --model "
                        f"{model_name}` so calibration_set() has samples")
    t0 = time.monotonic()
    # A failed rebuild must not leave the previous build's artefacts looking current.
    for old in [out_dir / "model_qdq.onnx", *out_dir.glob("model_ctx_*")]:
        old.unlink(missing_ok=True)

    _say(progress, "exporting the float model to ONNX")
    float_onnx = export_onnx(keras_path, out_dir / "model_float.onnx")
    export_check = _export_check(keras_path, float_onnx, calibration[:8])

    choices = measure_weight_schemes(float_onnx, calibration, npu.activation_type, npu.weight_type,
                                     out_dir, progress)
    chosen = pick_scheme(choices)
    qdq = out_dir / "model_qdq.onnx"
    shutil.copyfile(chosen.path, out_dir / ".model_qdq.onnx.tmp")
    os.replace(out_dir / ".model_qdq.onnx.tmp", qdq)

    # Op coverage of the chosen model, from the EP's own trace (fallback disabled: a session
    # that opens is a model fully on the HTP; the trace says how ONNX nodes map to QNN ops).
    trace_dir = out_dir / "qnn_trace"
    shutil.rmtree(trace_dir, ignore_errors=True)
    session = htp_session(qdq, trace_dir)
    trace = read_op_trace(trace_dir) or {}
    summary = trace.get("summary", {})
    ops_total = int(summary.get("total_onnx_nodes", 0))
    ops_on = int(summary.get("supported_nodes", 0))
    qnn_ops: dict[str, int] = {}
    for sg in trace.get("subgraph_traces", []):
        for m in sg.get("op_mappings", []):
            qnn_ops[m["dst_qnn_op_type"]] = qnn_ops.get(m["dst_qnn_op_type"], 0) + 1

    # Emulated outputs vs the float model and the int8 (QDQ on the CPU EP) reference.
    probe = calibration[:_MEASURE_SAMPLES]
    htp_out = run_session(session, probe)
    float_out = run_session(cpu_session(float_onnx), probe)
    qdq_cpu_out = run_session(cpu_session(qdq), probe)
    outputs_vs = {"htp_vs_float_onnx": compare_outputs(htp_out, float_out),
                  "htp_vs_qdq_cpu": compare_outputs(htp_out, qdq_cpu_out),
                  "qdq_cpu_vs_float_onnx": compare_outputs(qdq_cpu_out, float_out),
                  "inputs": f"first {len(probe)} calibration samples"}
    del session

    contexts = []
    for soc in npu.socs:
        _say(progress, f"compiling the context binary for {soc}")
        contexts.append(compile_context(qdq, soc, out_dir))

    act_bytes = _TYPE_BYTES[npu.activation_type]
    w_bytes = _TYPE_BYTES[npu.weight_type]
    roof = roofline.estimate(float_onnx, npu.macs_per_cycle, npu.clock_mhz, npu.dram_bandwidth_gbps,
                             activation_bytes=act_bytes, weight_bytes=w_bytes)
    ram_bytes = roofline.peak_activation_bytes(float_onnx, act_bytes)
    flash_bytes = max(c.bytes for c in contexts)
    figures, how, budget_result = budget_figures(
        target, flash_bytes=flash_bytes, ram_bytes=ram_bytes, latency_ms=roof.latency_ms,
        latency_label="latency (estimated, roofline)",
        how={"flash_kb": "measured (largest context binary file)",
             "ram_kb": f"estimated (peak live activations at {act_bytes} byte/element)",
             "latency_ms": f"estimated (roofline: {npu.macs_per_cycle} MACs/cycle at {npu.clock_mhz:g} MHz, "
                           f"{npu.dram_bandwidth_gbps:g} GB/s DRAM; {roof.dominant} term dominates)"})
    cpu_ops = [] if ops_on == ops_total else _unsupported_from_trace(trace)
    artefacts = {"float_onnx": float_onnx, "qdq_model": qdq, "op_trace": trace_dir / "qnn_op_trace.json"}
    for c in contexts:
        artefacts[f"context_model_{c.soc}"] = c.model
        artefacts[f"context_binary_{c.soc}"] = c.binary
    result = NpuBuildResult(
        target=target.name, model=model_name, runtime="onnxruntime-qnn", out_dir=out_dir,
        artefacts=artefacts, ops_total=ops_total, ops_on_npu=ops_on, cpu_ops=cpu_ops,
        figures=figures, figures_how=how, budget=budget_result,
        accuracy_source="measured on the QNN HTP emulator (x86) running model_qdq.onnx "
                        "(`edgekit eval`, through the harness: npu/qnn_eval.py)",
        notes=[
            "No Snapdragon silicon here: outputs come from the QNN HTP emulator on x86; "
            "latency and energy are estimates from the target profile, not measurements.",
            f"Weights: {chosen.scheme} chosen by measurement (see weight_schemes).",
            "The roofline latency is a lower bound: peak MAC rate and DRAM bandwidth per layer, "
            "no per-op dispatch or host-to-NPU call overhead.",
        ],
        details={
            "activation_type": npu.activation_type, "weight_type": npu.weight_type,
            "weight_scheme": chosen.scheme, "weight_schemes": [c.row() for c in choices],
            "export_check": export_check, "qnn_ops": qnn_ops,
            "op_trace_summary": summary, "outputs_vs_references": outputs_vs,
            "context_binaries": [c.row() for c in contexts],
            "roofline": roof.summary(), "build_seconds": round(time.monotonic() - t0, 2),
        },
    )
    for c in choices:  # the chosen one was copied to model_qdq.onnx; keep only that
        if c.path.exists():
            c.path.unlink()
    result.report_path = write_report(result)
    return result


def _export_check(keras_path: Path, float_onnx: Path, x: np.ndarray) -> dict:
    """Keras vs the exported ONNX on a few inputs: the export must not change the model."""
    import keras

    model = keras.models.load_model(keras_path, compile=False)
    ref = np.concatenate([np.asarray(model(x[i:i + 1], training=False)) for i in range(len(x))])
    got = run_session(cpu_session(float_onnx), x)
    cmp = compare_outputs(got, ref)
    if cmp["top1_agreement"] < 1.0 or cmp["max_abs_diff"] > 1e-3:
        raise CheckFailed(f"{float_onnx.name}: the ONNX export differs from the Keras model "
                          f"(max abs diff {cmp['max_abs_diff']:.3g}, top-1 agreement "
                          f"{cmp['top1_agreement']:.2f})", [cmp])
    return cmp


def build(spec, target: TargetProfile, out_dir: Optional[Path] = None,
          progress: Progress = None) -> NpuBuildResult:
    """`edgekit build` for an onnxruntime-qnn target: QDQ model, context binaries per SoC,
    op coverage, emulated outputs vs references, roofline latency estimate, budget figures."""
    from edgekit import data

    _check_target(target)
    out_dir = Path(out_dir) if out_dir is not None else resources.stage_dir(target.name, spec.name)
    if not spec.weights_path.is_file():
        raise UserError(f"{spec.weights_path}: trained float weights not found; run "
                        f"`edgekit train --model {spec.name}`")
    _say(progress, "loading the calibration set")
    calibration = data.calibration_set(spec, n=200)
    return build_from_keras(spec.weights_path, calibration, target, out_dir, spec.name, progress)
