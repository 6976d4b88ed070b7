"""Snapdragon HTP through ONNX Runtime's QNN execution provider.

    float Keras model --tf2onnx--> model_float.onnx
        --onnxruntime.quantization (QNN QDQ config, calibration set)--> model_qdq.onnx
        --QNN EP, HTP backend, CPU fallback disabled--> runs on the HTP emulator (x86)
        --ep.context_enable, soc_model per SoC--> model_ctx_<SoC>.onnx + model_ctx_<SoC>_qnn.bin

The QNN EP (package onnxruntime-qnn 2.x) is a plugin execution provider: it is registered with
`onnxruntime.register_execution_provider_library` and selected with
`SessionOptions.add_provider_for_devices`. With `session.disable_cpu_ep_fallback=1` a model
the HTP cannot run fully fails at session creation; the EP's framework-op trace names the ops.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from edgekit import reportstore, resources
from edgekit.errors import CheckFailed, UserError
from edgekit.npu import SECTION, NpuBuildResult, OpPlacement, budget_figures, say as _say, write_report
from edgekit.npu import roofline
from edgekit.targets.schema import TargetProfile

EP_NAME = "QNNExecutionProvider"

# QNN `soc_model` ids. Verified with onnxruntime-qnn 2.7: the context binary compiled with each
# id records "soc_type=<name>;arch=<htp arch>" (SM8550 -> arch 73, SM8650 -> arch 75), and an
# unknown id is refused at session creation (QNN_DEVICE_ERROR_INVALID_CONFIG).
SOC_MODELS: dict[str, int] = {"SM8550": 43, "SM8650": 57}

_QUANT_TYPES = {"uint8": "QUInt8", "int8": "QInt8", "uint16": "QUInt16", "int16": "QInt16"}
_TYPE_BYTES = {"uint8": 1, "int8": 1, "uint16": 2, "int16": 2}

# How many calibration samples the per-channel/per-tensor measurement runs on the emulator.
_MEASURE_SAMPLES = 32

Progress = Optional[Callable[[str], None]]


class HtpUnsupported(Exception):
    """The model does not run entirely on the HTP; `ops` names what does not."""

    def __init__(self, message: str, ops: list[OpPlacement]):
        super().__init__(message)
        self.ops = ops


# --------------------------------------------------------------------------------------------
# QNN EP sessions


_registered = False


@contextlib.contextmanager
def _native_stdout_to_stderr():
    """QNN's native libraries print banners to file descriptor 1; keep stdout clean for
    `--json` by pointing fd 1 at stderr while they run."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _ep_devices():
    global _registered
    import onnxruntime as ort
    import onnxruntime_qnn

    if not _registered:
        try:
            with _native_stdout_to_stderr():
                ort.register_execution_provider_library(EP_NAME, onnxruntime_qnn.get_library_path())
        except Exception as exc:  # registered by someone else in this process
            if "already" not in str(exc).lower():
                raise
        _registered = True
    devices = [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]
    if not devices:
        raise UserError("onnxruntime-qnn: the QNN execution provider found no device; "
                        "reinstall onnxruntime-qnn (pip install onnxruntime-qnn)")
    return devices


def _ep_options(trace_dir: Optional[Path] = None, soc: Optional[str] = None) -> dict[str, str]:
    import onnxruntime_qnn

    opts = {
        "backend_path": onnxruntime_qnn.get_qnn_htp_path(),
        # Quantize/dequantize graph inputs and outputs on the HTP too: otherwise the EP hands
        # them to the CPU EP, which fallback-disabled sessions refuse.
        "offload_graph_io_quantization": "0",
    }
    if trace_dir is not None:
        opts["enable_framework_op_trace"] = "1"
        opts["framework_op_trace_dir"] = str(trace_dir)
    if soc is not None:
        opts["soc_model"] = str(SOC_MODELS[soc])
    return opts


def read_op_trace(trace_dir: Path) -> Optional[dict]:
    p = Path(trace_dir) / "qnn_op_trace.json"
    return json.loads(p.read_text()) if p.is_file() else None


def _unsupported_from_trace(trace: Optional[dict]) -> list[OpPlacement]:
    if not trace:
        return []
    ops = []
    for n in trace.get("unsupported_nodes", []):
        # QDQ nodes around an unsupported op are listed too; name the op that caused it first.
        ops.append(OpPlacement(op_type=n.get("op_type", "?"), name=n.get("node_name", "?"),
                               on_npu=False, reason=n.get("reason", "")))
    return ops


def htp_session(model_path: Path, trace_dir: Optional[Path] = None):
    """An InferenceSession on the QNN HTP backend (the x86 emulator here) with CPU fallback
    disabled. Raises HtpUnsupported naming the ops if the HTP cannot run every node."""
    import onnxruntime as ort

    devices = _ep_devices()
    own_trace = trace_dir is None
    tdir = Path(tempfile.mkdtemp(prefix="qnn_trace_")) if own_trace else Path(trace_dir)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices(devices, _ep_options(tdir))
    try:
        with _native_stdout_to_stderr():
            return ort.InferenceSession(str(model_path), sess_options=so)
    except Exception as exc:
        ops = _unsupported_from_trace(read_op_trace(tdir))
        if ops:
            names = ", ".join(f"{o.op_type} ({o.name})" for o in ops if o.op_type not in
                              ("QuantizeLinear", "DequantizeLinear")) or \
                ", ".join(f"{o.op_type} ({o.name})" for o in ops)
            raise HtpUnsupported(f"{Path(model_path).name}: not every op runs on the HTP: {names}",
                                 ops) from None
        raise HtpUnsupported(f"{Path(model_path).name}: the QNN HTP backend refused the model: "
                             f"{str(exc).strip()[:300]}", []) from None
    finally:
        if own_trace:
            shutil.rmtree(tdir, ignore_errors=True)


def cpu_session(model_path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(model_path), sess_options=so, providers=["CPUExecutionProvider"])


def run_session(session, x: np.ndarray) -> np.ndarray:
    """Run a batch-1 session over x [N, ...] one sample at a time; returns [N, ...] float32."""
    name = session.get_inputs()[0].name
    outs = [session.run(None, {name: x[i:i + 1].astype(np.float32)})[0] for i in range(len(x))]
    return np.concatenate(outs, axis=0).astype(np.float32) if outs else np.zeros((0,), np.float32)


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
                        "(`edgekit eval` / qnn.evaluate)",
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


# --------------------------------------------------------------------------------------------
# evaluate: the HTP emulator as the device


@dataclass
class CohortRow:
    field: str
    value: str
    n: int
    accuracy: dict[str, float]  # path -> accuracy (0..1)
    diff_points: float  # (htp - reference) in percentage points
    within: bool
    diff_points_vs: dict[str, float] = field(default_factory=dict)  # htp - every other path


@dataclass
class QnnEvalResult:
    target: str
    model: str
    split: str
    n: int
    accuracy: dict[str, float]  # path -> overall accuracy
    reference: str  # the int8 host reference the HTP is held to
    tolerance_points: float
    cohorts: list[CohortRow]
    agreement: dict[str, dict]  # path pair -> compare_outputs()
    records_path: Path
    passed: bool
    overall_diff_points: float = 0.0  # (htp - reference) over the whole split
    device_model: str = ""
    notes: list[str] = field(default_factory=list)


def evaluate(spec, target: TargetProfile, split: str = "test", limit: Optional[int] = None,
             out_dir: Optional[Path] = None, tolerance_points: float = 1.0,
             progress: Progress = None) -> QnnEvalResult:
    """Per-cohort accuracy with the HTP emulator as the device, against the int8 host
    reference. Needs `edgekit build` first (model_qdq.onnx)."""
    from edgekit import data

    _check_target(target)
    out_dir = Path(out_dir) if out_dir is not None else resources.stage_dir(target.name, spec.name)
    qdq = out_dir / "model_qdq.onnx"
    if not qdq.is_file():
        raise UserError(f"{qdq}: not found; run `edgekit build --target {target.name} "
                        f"--model {spec.name}` first")
    _say(progress, f"loading the {split} split")
    x, y, records = data.split_arrays(spec, split, limit=limit)
    if len(x) == 0:
        raise UserError(f"{spec.name}: the {split} split is empty; run `edgekit data prepare "
                        f"--model {spec.name}`")
    cohorts = [{k: r.cohort.get(k) for k in spec.cohort_fields} for r in records]
    return evaluate_arrays(qdq, x, np.asarray(y), [r.id for r in records], cohorts, target,
                           spec.name, split, out_dir, tolerance_points, progress,
                           int8_tflite=_int8_tflite(out_dir))


def device_artefact(out_dir: Path, target: TargetProfile) -> Optional[Path]:
    """The context model compiled for the profile's own part (part.name names the SoC), else
    for its first SoC: what would ship to the phone, so it is what the emulator runs."""
    socs = list(target.npu.socs)
    named = [s for s in socs if s in target.part.name]
    for soc in named + socs:
        p = Path(out_dir) / f"model_ctx_{soc}.onnx"
        if p.is_file():
            return p
    return None


def _int8_tflite(out_dir: Path) -> Optional[Path]:
    p = Path(out_dir) / "model_int8.tflite"
    return p if p.is_file() else None


def _litert_ref(tflite: Path, x: np.ndarray) -> Optional[np.ndarray]:
    """Scores of the converter's int8 .tflite under LiteRT's reference kernels (the project's
    int8 host reference), or None if the converter stage is not installed."""
    try:
        from edgekit.interpreters import io_quant, run_litert_ref
    except ImportError:
        return None
    qin, qout = io_quant(tflite)
    return qout.dequantize(run_litert_ref(tflite, qin.quantize(x)))


def evaluate_arrays(qdq: Path, x: np.ndarray, y: np.ndarray, ids: list[str], cohorts: list[dict],
                    target: TargetProfile, model_name: str, split: str, out_dir: Path,
                    tolerance_points: float = 1.0, progress: Progress = None,
                    int8_tflite: Optional[Path] = None) -> QnnEvalResult:
    out_dir = Path(out_dir)
    float_onnx = out_dir / "model_float.onnx"
    device_model = device_artefact(out_dir, target) or Path(qdq)
    _say(progress, f"running {len(x)} samples of {device_model.name} on the HTP emulator")
    scores = {"htp_emulator": run_session(htp_session(device_model), x),
              "int8_qdq_cpu": run_session(cpu_session(qdq), x)}
    if float_onnx.is_file():
        scores["float"] = run_session(cpu_session(float_onnx), x)
    notes = [f"The device is the QNN HTP emulator on x86 running {device_model.name} "
             f"(no Snapdragon silicon here)."]
    if int8_tflite is not None:
        ref = _litert_ref(int8_tflite, x)
        if ref is not None:
            scores["int8_litert_ref"] = ref
        else:
            notes.append("edgekit.interpreters is not available: the LiteRT int8 reference was skipped.")
    preds = {k: v.reshape(len(v), -1).argmax(1) for k, v in scores.items()}
    records_path = out_dir / f"npu_eval_{split}.jsonl"
    tmp = records_path.with_name(f".{records_path.name}.tmp")
    with open(tmp, "w") as fh:
        for i, sid in enumerate(ids):
            fh.write(json.dumps({"id": sid, "cohort": cohorts[i], "label": int(y[i]),
                                 "pred": {k: int(p[i]) for k, p in preds.items()},
                                 "scores": {k: [round(float(s), 6) for s in v[i].reshape(-1)]
                                            for k, v in scores.items()}}) + "\n")
    os.replace(tmp, records_path)
    return summarize_records(records_path, target, model_name, split, out_dir, tolerance_points,
                             device_model.name, notes)


# Percentage points are compared with this slack: 9 flips in 900 samples is 1.0 point exactly,
# which float arithmetic may render as 1.0000000000000009.
_POINTS_EPS = 1e-9


def summarize_records(records_path: Path, target: TargetProfile, model_name: str, split: str,
                      out_dir: Path, tolerance_points: float = 1.0, device_model: str = "",
                      notes: Optional[list[str]] = None) -> QnnEvalResult:
    """Per-cohort accuracy of every path from the per-sample records (npu_eval_<split>.jsonl),
    the HTP emulator held to the int8 host reference; writes the report's npu.eval section.
    Re-summarizing needs no emulator run."""
    recs = [json.loads(line) for line in Path(records_path).read_text().splitlines() if line.strip()]
    if not recs:
        raise UserError(f"{records_path}: no records; run the evaluation again")
    # The HTP runs model_qdq.onnx (compiled for the SoC); the same QDQ model on ONNX Runtime's
    # CPU EP is its int8 host reference (same scales and zero points, host kernels).
    reference = "int8_qdq_cpu"
    paths = list(recs[0]["pred"])
    y = np.array([r["label"] for r in recs])
    preds = {k: np.array([r["pred"][k] for r in recs]) for k in paths}
    scores = {k: np.array([r["scores"][k] for r in recs], np.float32) for k in paths}
    cohorts = [r["cohort"] for r in recs]
    correct = {k: (p == y) for k, p in preds.items()}
    acc = {k: float(np.mean(c)) for k, c in correct.items()}

    def points(mask: np.ndarray, other: str) -> float:
        return 100.0 * float(np.sum(correct["htp_emulator"][mask]) - np.sum(correct[other][mask])) / int(mask.sum())

    rows: list[CohortRow] = []
    for f in sorted({f for c in cohorts for f in c}):
        for v in sorted({str(c.get(f)) for c in cohorts}):
            mask = np.array([str(c.get(f)) == v for c in cohorts])
            a = {k: float(np.mean(c[mask])) for k, c in correct.items()}
            diff = points(mask, reference)
            vs = {k: round(points(mask, k), 4) for k in paths if k != "htp_emulator"}
            rows.append(CohortRow(f, v, int(mask.sum()), a, round(diff, 4),
                                  abs(diff) <= tolerance_points + _POINTS_EPS, vs))
    overall_diff = points(np.ones(len(y), bool), reference)
    passed = abs(overall_diff) <= tolerance_points + _POINTS_EPS and all(r.within for r in rows)
    agreement = {f"htp_emulator_vs_{k}": compare_outputs(scores["htp_emulator"], v)
                 for k, v in scores.items() if k != "htp_emulator"}
    if "float" in scores:
        agreement["disagreements_by_float_margin"] = disagreements_by_margin(
            preds["htp_emulator"], preds[reference], scores["float"])
    result = QnnEvalResult(target=target.name, model=model_name, split=split, n=int(len(y)),
                           accuracy=acc, reference=reference, tolerance_points=tolerance_points,
                           cohorts=rows, agreement=agreement, records_path=Path(records_path),
                           passed=passed, overall_diff_points=round(overall_diff, 4),
                           device_model=device_model, notes=list(notes or []))
    _write_eval_section(Path(out_dir), result)
    return result


# Float top-1 minus top-2 probability below which a sample counts as a near tie.
NEAR_TIE_MARGIN = 0.2


def disagreements_by_margin(pred_a: np.ndarray, pred_b: np.ndarray, float_scores: np.ndarray) -> dict:
    """Where two int8 implementations disagree on top-1, measured against how sure the float
    model is (top-1 minus top-2 probability): disagreements confined to near ties are tie
    breaks between two roundings; one on a confident sample would be a defect."""
    s = np.sort(float_scores.reshape(len(float_scores), -1), axis=1)
    margin = s[:, -1] - s[:, -2] if s.shape[1] > 1 else np.ones(len(s))
    dis = np.asarray(pred_a) != np.asarray(pred_b)
    near = margin < NEAR_TIE_MARGIN

    def rate(mask: np.ndarray) -> Optional[float]:
        return round(float(dis[mask].mean()), 6) if mask.any() else None

    return {"disagreements": int(dis.sum()), "near_tie_margin": NEAR_TIE_MARGIN,
            "samples_near_tie": int(near.sum()), "disagreement_rate_near_tie": rate(near),
            "disagreement_rate_confident": rate(~near),
            "largest_float_margin_of_a_disagreement": round(float(margin[dis].max()), 6) if dis.any() else None}


def check_eval(result: QnnEvalResult) -> None:
    """The accuracy gate: CheckFailed naming the cohorts where the HTP emulator is further
    than the tolerance from the int8 host reference."""
    if result.passed:
        return
    bad = [asdict(c) for c in result.cohorts if not c.within]
    where = ", ".join(f"{c['field']}={c['value']} ({c['diff_points']:+.2f} points)" for c in bad) or \
        f"overall ({result.overall_diff_points:+.2f} points)"
    raise CheckFailed(f"{result.target}/{result.model}: HTP emulator accuracy differs from the int8 "
                      f"host reference by more than {result.tolerance_points:g} point(s): {where}", bad)


def _write_eval_section(out_dir: Path, result: QnnEvalResult) -> None:
    from edgekit.report import write_reports

    section = reportstore.read_report(out_dir).get(SECTION) or {}
    ev = asdict(result)
    ev["how"] = "measured on the QNN HTP emulator (x86)"
    section["eval"] = ev
    reportstore.write_section(out_dir, SECTION, section)
    write_reports(out_dir)
