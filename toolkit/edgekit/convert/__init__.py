"""`edgekit convert`: a trained float model -> what the target runs, and what that cost.

    from edgekit.convert import convert
    result = convert(load_model("kws"), load_target("cortex-m4"))

Inputs (model.yaml's `weights:`): a Keras model (.keras, .h5), a SavedModel folder, an already
quantized .tflite (checked, not re-quantized) or, for NPU targets only, an .onnx (checked; the
NPU stage makes the QDQ model). See README.md next to this file for a user model's model.yaml.

Steps, in this order, so a bad input fails before anything is written:
 1. read and check the model (format, NaN/Inf weights, input shape vs the preprocessing spec);
 2. rebuild it with batch 1 and convert the float twin; check its ops against the target
    runtime's list (targets/runtimes/<runtime>.yaml) with the types quantization will give them;
 3. quantize with the calibration set (full integer, int8 or 16x8, per-channel weights) and
    check the ops again with their real types;
 4. measure: float vs int8 accuracy on the test split, overall and per cohort (int8 on LiteRT's
    reference kernels); per-layer error on calibration data; sizes; the TFLM arena; LiteRT-ref
    vs tflite-micro bit-exactness on a subset of the test split;
 5. write model_int8.tflite, model_float.tflite, quant_report.json and the report's "convert"
    section into build/<target>/<model>/, each by temp file + rename, the report last.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from edgekit import reportstore, resources
from edgekit.convert import analysis, opcheck, source
from edgekit.convert.analysis import AccuracyReport, LayerError, SizeFigures
from edgekit.convert.opcheck import OpCheckResult, OpUse, check_ops
from edgekit.errors import CheckFailed, UserError
from edgekit.fileio import write_atomic
from edgekit.interpreters import InterpreterError, TensorQuant, TflmArena

__all__ = ["convert", "int8_model", "gate", "report_payload", "ConvertResult", "BitExactness", "check_ops", "INT8_NAME", "FLOAT_NAME", "QUANT_REPORT_NAME"]

Progress = Callable[[str, int, int], None]

INT8_NAME = "model_int8.tflite"
FLOAT_NAME = "model_float.tflite"
QUANT_REPORT_NAME = "quant_report.json"
SECTION = "convert"


@dataclass
class BitExactness:
    """LiteRT reference kernels vs the tflite-micro interpreter on the same quantized inputs."""

    samples: int
    mismatched_samples: int
    max_abs_diff_lsb: int
    split: str

    @property
    def bit_exact(self) -> bool:
        return self.samples > 0 and self.mismatched_samples == 0


@dataclass
class ConvertResult:
    model: str
    target: str
    runtime: str
    source: str
    source_kind: str
    activations: str
    out_dir: Path
    int8_path: Optional[Path]  # the quantized model (None for an ONNX source: the NPU stage quantizes)
    float_path: Optional[Path]
    quant_report_path: Path
    model_sha256: Optional[str]
    input_quant: Optional[TensorQuant]
    output_quant: Optional[TensorQuant]
    ops: list[OpUse]
    op_warnings: list[str]
    accuracy: Optional[AccuracyReport]
    layers: list[LayerError]
    sizes: Optional[SizeFigures]
    tflm_arena: Optional[TflmArena]
    bit_exactness: Optional[BitExactness]
    calibration_samples: int
    calibration_source: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        d = asdict(self)
        if self.bit_exactness is not None:
            d["bit_exactness"]["bit_exact"] = self.bit_exactness.bit_exact
        return _jsonable(d)


def int8_model(spec, target, out_dir: Optional[Path] = None, *, progress: Optional[Progress] = None,
               tflite_path: Optional[Path] = None, notes: Optional[list] = None) -> Path:
    """The int8 model for this target: `tflite_path` when given, else build/<t>/<m>/model_int8.tflite
    when it is newer than the float weights, else converted again (so every stage that needs it,
    build, skew and the NPU stages, runs the same file). A reuse is noted in `notes`."""
    if tflite_path is not None:
        p = Path(tflite_path)
        if not p.is_file():
            raise UserError(f"{p}: int8 .tflite not found")
        return p
    weights = Path(spec.weights_path)
    if weights.suffix == ".tflite":
        # The model folder's weights are already an int8 .tflite: nothing to convert (and no
        # calibration or test data needed); code generation checks it strictly.
        if not weights.is_file():
            raise UserError(f"{spec.folder}/model.yaml: weights: {weights} not found")
        if notes is not None:
            notes.append(f"{weights.name} is already quantized: built as is, nothing converted")
        return weights
    out = Path(out_dir) if out_dir is not None else resources.stage_dir(target.name, spec.name)
    existing = out / INT8_NAME
    if existing.is_file() and (not weights.exists() or existing.stat().st_mtime >= weights.stat().st_mtime):
        if notes is not None:
            notes.append(f"reused {existing.name} (newer than the weights); delete it to convert again")
        return existing
    if not weights.exists():
        raise UserError(f"{weights}: trained float weights not found; run `edgekit train --model {spec.name}`")
    if progress is not None:
        progress("convert: quantizing to int8", 0, 0)
    res = convert(spec, target, progress=progress, out_dir=out)
    if res.int8_path is None or not Path(res.int8_path).is_file():
        raise UserError(f"model {spec.name}: the converter produced no int8 .tflite for {target.name}")
    return Path(res.int8_path)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    return obj


# --- data ----------------------------------------------------------------------------------

def _data():
    try:
        from edgekit import data
    except ImportError as exc:  # the data stage is a separate issue; say so instead of a traceback
        raise UserError(f"edgekit.data is not available ({exc}); give calibration/test data explicitly") from None
    return data


def _default_calibration(spec) -> np.ndarray:
    return _data().calibration_set(spec)


def _default_test_set(spec, limit: Optional[int], notes: list) -> Optional[tuple[np.ndarray, np.ndarray, list]]:
    """The test split, or None when it is not prepared (quantizing needs only the committed
    calibration set; accuracy needs the test split)."""
    data = _data()
    try:
        data.load_dataset(spec)
    except UserError as exc:
        notes.append(f"accuracy needs the test split, which is not prepared ({exc}); "
                     f"LiteRT-ref vs tflite-micro checked on the calibration inputs instead")
        return None
    return data.split_arrays(spec, "test", limit=limit)


# --- the stage -----------------------------------------------------------------------------

def _argmax_rows(y: np.ndarray) -> np.ndarray:
    return np.asarray(y).reshape(len(y), -1).argmax(axis=1)


def convert(spec, target, activations: str = "int8", progress: Optional[Progress] = None, *,
            model_path: Optional[Path] = None, calibration: Optional[np.ndarray] = None,
            test_set: Optional[tuple[np.ndarray, np.ndarray, list]] = None, test_limit: Optional[int] = None,
            verify_samples: Optional[int] = 64, layer_samples: int = 100,
            max_drop_points: Optional[float] = None, out_dir: Optional[Path] = None,
            dense_as_conv: bool = True, enforce_gates: bool = True) -> ConvertResult:
    """Quantize `spec`'s model for `target` and report what it cost (see the module docstring).

    model_path overrides model.yaml's weights; calibration (float features) and test_set
    ((X, y, records with .cohort)) override the data stage's; verify_samples: how many test
    samples to run through both reference interpreters (None: all); max_drop_points: raise
    CheckFailed (after writing everything) when int8 loses more accuracy than this;
    dense_as_conv: emit Dense layers as 1x1 CONV_2D (the reference interpreters disagree on
    FULLY_CONNECTED rounding); enforce_gates=False returns the result instead of raising
    CheckFailed (call `gate(result, max_drop_points)` afterwards, as the CLI does).
    """
    t0 = time.time()
    prog = progress or (lambda *a: None)
    src = Path(model_path) if model_path is not None else spec.weights_path
    kind = source.source_kind(src)
    runtime = target.runtime.name
    if activations not in ("int8", "int16"):
        raise UserError(f"--activations {activations}: must be int8 or int16")
    if activations not in target.runtime.activations:
        raise UserError(f"--activations {activations}: target '{target.name}' runtime {runtime} supports "
                        f"{', '.join(target.runtime.activations)} activations; use one of those")
    expected_in = tuple(spec.preprocessing.output_shape)
    out = Path(out_dir) if out_dir is not None else resources.stage_dir(target.name, spec.name)
    notes: list[str] = []

    if kind == "onnx":
        return _convert_onnx(spec, target, src, expected_in, out, t0)

    # 1-3: read, check, convert; nothing is written yet.
    float_tflite: Optional[bytes] = None
    if kind == "tflite":
        prog("read quantized model", 0, 1)
        int8_tflite = source.read_tflite(src)
        got = source.check_prequantized(int8_tflite, src, expected_in)
        if got != activations:
            notes.append(f"the given .tflite has {got} activations: kept as is (not re-quantized)")
            activations = got
        op_res = check_ops(int8_tflite, runtime, target.name)
        cal_n, cal_src = 0, "none: already quantized"
        notes.append("already quantized .tflite: checked, not re-quantized; no float twin, so no float "
                     "accuracy and no per-layer error")
    else:
        prog("load model", 0, 1)
        model = source.load_keras(src)
        in_shape, _ = source.keras_single_io(model, src)
        source.check_input_shape(in_shape, expected_in, src)
        source.check_finite(model, src)
        model1, rebuild_notes = source.with_batch_one(model, dense_as_conv=dense_as_conv)
        notes += rebuild_notes
        prog("convert float twin", 0, 1)
        float_tflite = source.to_float_tflite(model1, str(src))
        # Op coverage BEFORE quantizing: the float twin's ops with the types they will have.
        check_ops(float_tflite, runtime, target.name, float_as=activations)
        cal_src = ("given by the caller" if calibration is not None else
                   f"calibration_data/{spec.name}/manifest.json: train split, spread over cohorts and labels")
        cal = _default_calibration(spec) if calibration is None else calibration
        cal = source.check_calibration(cal, expected_in, f"{spec.name} calibration set")
        cal_n = len(cal)
        prog(f"quantize ({activations})", 0, 1)
        int8_tflite = source.to_quantized_tflite(model1, cal, activations, str(src))
        op_res = check_ops(int8_tflite, runtime, target.name)

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out, prefix=".convert-"))
    try:
        q_path = work / INT8_NAME
        q_path.write_bytes(int8_tflite)
        from edgekit.interpreters import io_quant, run_litert_ref, run_tflm, tflm_arena

        try:
            in_q, out_q = io_quant(int8_tflite)
        except InterpreterError as exc:
            raise UserError(f"{src}: the quantized model does not run on the reference kernels: {exc}") from None

        # 4. measure
        test = _default_test_set(spec, test_limit, notes) if test_set is None else test_set
        if test is None and kind == "tflite":
            raise UserError(f"{spec.name}: an already quantized .tflite is only checked against the test split, "
                            f"which is not prepared; run `edgekit data prepare --model {spec.name}`, or "
                            f"`edgekit build --model-file {src}` (no data needed)")
        X, y, records = (cal, None, []) if test is None else test
        check_split = "calibration" if test is None else "test"
        X = np.asarray(X, np.float32)
        if len(X) == 0:
            raise UserError(f"{spec.name}: the test split is empty; prepare data with `edgekit data prepare`")
        if tuple(X.shape[1:]) != expected_in:
            raise UserError(f"{spec.name}: test features have shape {tuple(X.shape[1:])}, the preprocessing spec "
                            f"makes {expected_in}; re-run `edgekit data prepare`")
        Xq = in_q.quantize(X)
        float_pred = None
        if float_tflite is not None and y is not None:
            done = {"n": 0}

            def fstep(k):
                done["n"] += k
                if done["n"] % 50 == 0 or done["n"] == len(X):
                    prog("float accuracy", done["n"], len(X))
            float_pred = _argmax_rows(run_litert_ref(float_tflite, X, reference=False, progress=fstep))
        qdone = {"n": 0}

        def qstep(k):
            qdone["n"] += k
            if qdone["n"] % 20 == 0 or qdone["n"] == len(X):
                prog(f"{activations} accuracy (reference kernels)", qdone["n"], len(X))
        try:
            q_out = run_litert_ref(q_path, Xq, reference=True, progress=qstep)
        except InterpreterError as exc:
            raise UserError(f"{src}: the quantized model does not run on the reference kernels: {exc}") from None
        acc = None
        if y is not None:
            cohorts = [getattr(r, "cohort", None) or {} for r in records]
            acc = analysis.accuracy_report(float_pred, _argmax_rows(q_out), np.asarray(y), cohorts,
                                           list(spec.cohort_fields))

        layers: list[LayerError] = []
        if float_tflite is not None:
            lx = cal[:layer_samples]
            layers = analysis.layer_errors(float_tflite, int8_tflite, lx, progress=prog)
        sizes = analysis.size_figures(float_tflite, int8_tflite)

        prog("tflite-micro arena", 0, 1)
        try:
            arena = tflm_arena(q_path)
        except InterpreterError as exc:
            raise UserError(f"{src}: tflite-micro cannot run the quantized model ({exc}); the target runtime "
                            f"will not either: simplify the model") from None

        n_check = len(Xq) if verify_samples is None else min(verify_samples, len(Xq))
        bit = None
        if n_check > 0:
            prog("tflite-micro vs LiteRT-ref", 0, n_check)
            t_out = run_tflm(q_path, Xq[:n_check], arena_bytes=arena.smallest_working_bytes)
            diff = np.abs(t_out.astype(np.int32) - q_out[:n_check].astype(np.int32)).reshape(n_check, -1)
            bit = BitExactness(samples=n_check, mismatched_samples=int((diff.max(axis=1) > 0).sum()),
                               max_abs_diff_lsb=int(diff.max()), split=check_split)
            prog("tflite-micro vs LiteRT-ref", n_check, n_check)

        # 5. write: models first, then quant_report.json, then the report section.
        final_q = out / INT8_NAME
        final_f = out / FLOAT_NAME
        result = ConvertResult(
            model=spec.name, target=target.name, runtime=runtime, source=str(src), source_kind=kind,
            activations=activations, out_dir=out, int8_path=final_q,
            float_path=final_f if float_tflite is not None else None, quant_report_path=out / QUANT_REPORT_NAME,
            model_sha256=hashlib.sha256(int8_tflite).hexdigest(), input_quant=in_q, output_quant=out_q,
            ops=op_res.ops, op_warnings=op_res.warnings, accuracy=acc, layers=layers, sizes=sizes,
            tflm_arena=arena, bit_exactness=bit, calibration_samples=cal_n, calibration_source=cal_src,
            notes=notes)
        result.seconds = round(time.time() - t0, 2)
        # An old quant_report.json must never sit next to a new model: drop it first.
        result.quant_report_path.unlink(missing_ok=True)
        os.replace(q_path, final_q)
        if float_tflite is not None:
            write_atomic(final_f, float_tflite)
        elif final_f.exists():
            final_f.unlink()  # a stale twin from an earlier run would not match this model
        payload = report_payload(result)
        reportstore.write_json_atomic(result.quant_report_path, payload)
        reportstore.write_section(out, SECTION, payload)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if enforce_gates:
        gate(result, max_drop_points)
    return result


def gate(result: ConvertResult, max_drop_points: Optional[float] = None) -> None:
    """CheckFailed when the reference interpreters disagree, or int8 loses more than allowed."""
    bit, acc = result.bit_exactness, result.accuracy
    if bit is not None and not bit.bit_exact:
        raise CheckFailed(f"{result.model}: LiteRT reference kernels and tflite-micro disagree on "
                          f"{bit.mismatched_samples}/{bit.samples} test samples (up to {bit.max_abs_diff_lsb} LSB)",
                          [{"samples": bit.samples, "mismatched": bit.mismatched_samples,
                            "max_abs_diff_lsb": bit.max_abs_diff_lsb}])
    if acc is None:
        return
    o = acc.overall
    if max_drop_points is not None and o.delta_points is not None and -o.delta_points > max_drop_points:
        raise CheckFailed(f"{result.model}: {result.activations} accuracy {o.int8_accuracy:.4f} is "
                          f"{-o.delta_points:.2f} points below float {o.float_accuracy:.4f} "
                          f"(allowed {max_drop_points:g})",
                          [{"float_accuracy": o.float_accuracy, "int8_accuracy": o.int8_accuracy,
                            "delta_points": o.delta_points}])


def report_payload(r: ConvertResult) -> dict:
    """The "convert" report section and quant_report.json: measured figures, labelled as such."""
    d = r.to_json()
    d["how"] = {
        "accuracy": "measured on the test split: float twin (LiteRT builtin kernels) vs quantized model "
                    "(LiteRT reference kernels, BUILTIN_REF)",
        "layers": "measured on calibration data: per op, float twin vs dequantized quantized activations; "
                  "sqnr_db cumulative, sqnr_drop_db added by the op itself",
        "tflm_arena": "measured: smallest tflite-micro arena_size that allocates and invokes (binary search)",
        "bit_exactness": "measured: LiteRT BUILTIN_REF vs tflite-micro Python interpreter on the same int inputs",
        "sizes": "measured from the .tflite files",
    }
    d["dominant_layers"] = [l["layer"] for l in d["layers"] if l.get("dominant")]
    return d


def _convert_onnx(spec, target, src: Path, expected_in: tuple, out: Path, t0: float) -> ConvertResult:
    """ONNX is for NPU targets only: checked here (format, input shape, finite weights, ops);
    the NPU stage (edgekit.npu.qnn) makes the QDQ model from it."""
    if not opcheck.load_runtime(target.runtime.name).onnx_ops:  # the runtime's op list says
        raise UserError(f"{src}: ONNX models are taken only for ONNX Runtime NPU targets (snapdragon-htp); "
                        f"target '{target.name}' runs {target.runtime.name}: give a Keras, SavedModel or "
                        f".tflite model")
    import onnx
    from onnx import numpy_helper

    try:
        m = onnx.load(str(src))
        onnx.checker.check_model(m)
    except Exception as exc:
        raise UserError(f"{src}: not a valid ONNX model ({str(exc).splitlines()[0][:200]}); export it again") from None
    inputs = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    if len(inputs) != 1:
        raise UserError(f"{src}: the model takes {len(inputs)} inputs; edgekit models take one")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    notes = ["ONNX source: checked only; `edgekit build` (edgekit.npu.qnn) quantizes it to QDQ"]
    # PyTorch exports are channels-first: (C, H, W) is the same input as the spec's (H, W, C).
    chw = (expected_in[-1], *expected_in[:-1]) if len(expected_in) == 3 else None
    if chw is not None and tuple(dims[1:]) == chw and chw != expected_in:
        notes.append(f"channels-first input {tuple(dims)}: the NPU stage transposes the spec's {expected_in}")
    else:
        source.check_input_shape(tuple(dims[1:]), expected_in, src)
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise UserError(f"{src}: initializer '{t.name}' holds NaN/Inf values; retrain or fix the weights")
    res = opcheck.check_onnx_ops(src, target.runtime.name, target.name)
    result = ConvertResult(
        model=spec.name, target=target.name, runtime=target.runtime.name, source=str(src), source_kind="onnx",
        activations="int8", out_dir=out, int8_path=None, float_path=None,
        quant_report_path=out / QUANT_REPORT_NAME, model_sha256=None, input_quant=None, output_quant=None,
        ops=res.ops, op_warnings=res.warnings, accuracy=None, layers=[], sizes=None, tflm_arena=None,
        bit_exactness=None, calibration_samples=0, notes=notes,
        seconds=round(time.time() - t0, 2))
    out.mkdir(parents=True, exist_ok=True)
    payload = report_payload(result)
    reportstore.write_json_atomic(result.quant_report_path, payload)
    reportstore.write_section(out, SECTION, payload)
    return result
