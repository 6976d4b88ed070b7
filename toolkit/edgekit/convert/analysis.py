"""What quantization cost: accuracy per cohort, per-layer error, sizes.

Per-layer error compares each op's output in the float twin (fed float inputs) with the same
op's output in the quantized model (LiteRT reference kernels, fed the quantized inputs),
dequantized. The error is cumulative (what the layer sees, all earlier layers' error included);
`sqnr_drop_db` is what the layer itself adds: the SQNR of its activation input minus the SQNR of
its output. The layers with the largest drop are the ones whose error dominates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from edgekit.convert.opcheck import layer_name
from edgekit.interpreters import TensorQuant, _quant_from_details, litert_interpreter

Progress = Callable[[str, int, int], None]


@dataclass
class LayerError:
    index: int  # op index in the quantized model
    op: str
    layer: str
    tensor: str
    shape: list[int]
    scale: float  # output quantization step
    sqnr_db: Optional[float]  # 10 log10(sum f^2 / sum (f - q)^2), cumulative
    rmse: float
    rmse_over_range: float  # RMSE / (max - min) of the float activations
    rmse_lsb: float  # RMSE in units of the output's quantization step
    sqnr_drop_db: Optional[float]  # SQNR of the activation input minus SQNR of the output
    dominant: bool = False


@dataclass
class AccuracyFigures:
    n: int
    float_accuracy: Optional[float]
    int8_accuracy: float
    delta_points: Optional[float]  # (int8 - float) * 100
    agreement: Optional[float]  # fraction of samples where float and int8 predict the same class
    int8_ci_low: float = 0.0  # 95% Wilson interval of int8_accuracy
    int8_ci_high: float = 0.0
    p_value: Optional[float] = None  # McNemar, int8 against float on the same samples
    flagged: Optional[bool] = None  # a significant drop larger than the threshold (stats.compare_paths)


@dataclass
class AccuracyReport:
    overall: AccuracyFigures
    per_cohort: dict[str, dict[str, AccuracyFigures]] = field(default_factory=dict)


# A cohort whose int8 drop against float is significant and larger than this is flagged, as
# `edgekit eval --max-cohort-drop` does by default.
MAX_COHORT_DROP = 0.02


def accuracy_report(float_pred: Optional[np.ndarray], int8_pred: np.ndarray, y: np.ndarray,
                    cohorts: list[dict], cohort_fields: list[str]) -> AccuracyReport:
    """Float and int8 accuracy overall and per cohort, through edgekit.stats (the one
    per-cohort computation: the same groups, keys, Wilson intervals and McNemar flags as
    `edgekit eval`'s quantization stage)."""
    from edgekit import stats

    fields = list(cohort_fields) or sorted({k for c in cohorts for k in c})

    def records(labels, paths: dict[str, np.ndarray]) -> list[dict]:
        return [{"id": str(i), "label": int(labels[i]), "cohort": dict(cohorts[i]),
                 "paths": {p: {"status": "ok", "pred": int(v[i])} for p, v in paths.items()}}
                for i in range(len(labels))]

    paths = {"int8_host": int8_pred} if float_pred is None else {"float": float_pred, "int8_host": int8_pred}
    recs = records(y, paths)
    key = lambda a: (a.field, a.value)  # noqa: E731
    int8 = {key(a): a for a in stats.accuracy_by_cohort(recs, "int8_host", fields)}
    flt = {key(a): a for a in stats.accuracy_by_cohort(recs, "float", fields)} if float_pred is not None else {}
    cmp = {key(c): c for c in stats.compare_paths(recs, "float", "int8_host", fields, threshold=MAX_COHORT_DROP)} \
        if float_pred is not None else {}
    # Agreement: int8 "accuracy" against the float model's predictions, over the same groups.
    agree = {key(a): a for a in stats.accuracy_by_cohort(records(float_pred, {"int8_host": int8_pred}),
                                                         "int8_host", fields)} if float_pred is not None else {}

    def figures(k) -> AccuracyFigures:
        q, f, c = int8[k], flt.get(k), cmp.get(k)
        return AccuracyFigures(n=q.n, float_accuracy=f.accuracy if f else None, int8_accuracy=q.accuracy,
                               delta_points=None if f is None else round((q.accuracy - f.accuracy) * 100, 3),
                               agreement=agree[k].accuracy if k in agree else None,
                               int8_ci_low=q.ci_low, int8_ci_high=q.ci_high,
                               p_value=c.p_value if c else None, flagged=c.flagged if c else None)

    rep = AccuracyReport(overall=figures(("all", "all")), per_cohort={f: {} for f in fields})
    for k in int8:
        if k[0] != "all":
            rep.per_cohort[k[0]][k[1]] = figures(k)
    return rep


def _sqnr(sig: float, noise: float) -> Optional[float]:
    if noise <= 0:
        return None  # exact: infinite SQNR, JSON has no inf
    if sig <= 0:
        return float("-inf")
    return float(10 * np.log10(sig / noise))


def layer_errors(float_tflite: bytes, int8_tflite: bytes, x_float: np.ndarray,
                 progress: Optional[Progress] = None, n_dominant: int = 3) -> list[LayerError]:
    """Per-op error of the quantized model against its float twin on x_float (calibration data)."""
    f_it = litert_interpreter(float_tflite, reference=False, preserve_all_tensors=True)
    q_it = litert_interpreter(int8_tflite, reference=True, preserve_all_tensors=True)
    f_ops, q_ops = f_it._get_ops_details(), q_it._get_ops_details()
    f_td, q_td = f_it.get_tensor_details(), q_it.get_tensor_details()
    in_q = _quant_from_details(q_it.get_input_details()[0])

    # Pair ops: by position when both graphs have the same op sequence (the usual case: the
    # quantizer only changes types), else by output tensor name.
    q_compute = [op for op in q_ops if op["op_name"] not in ("QUANTIZE", "DEQUANTIZE")]
    f_compute = [op for op in f_ops if op["op_name"] not in ("QUANTIZE", "DEQUANTIZE")]
    pairs: list[tuple[dict, dict]] = []
    if [o["op_name"] for o in q_compute] == [o["op_name"] for o in f_compute]:
        pairs = list(zip(f_compute, q_compute))
    else:
        by_name = {f_td[op["outputs"][0]]["name"]: op for op in f_compute}
        pairs = [(by_name[q_td[op["outputs"][0]]["name"]], op) for op in q_compute
                 if q_td[op["outputs"][0]]["name"] in by_name]

    n_pairs = len(pairs)
    sig = np.zeros(n_pairs + 1)
    noise = np.zeros(n_pairs + 1)
    lo = np.full(n_pairs + 1, np.inf)
    hi = np.full(n_pairs + 1, -np.inf)
    count = np.zeros(n_pairs + 1)
    f_in, q_in = f_it.get_input_details()[0], q_it.get_input_details()[0]
    quants = [TensorQuant(np.dtype(q_td[q["outputs"][0]]["dtype"]).name, (),
                          float(q_td[q["outputs"][0]]["quantization"][0]),
                          int(q_td[q["outputs"][0]]["quantization"][1])) for _, q in pairs]

    def acc(k: int, f: np.ndarray, d: np.ndarray) -> None:
        f = f.astype(np.float64).ravel()
        d = d.astype(np.float64).ravel()
        sig[k] += float((f * f).sum())
        noise[k] += float(((f - d) ** 2).sum())
        lo[k] = min(lo[k], float(f.min()))
        hi[k] = max(hi[k], float(f.max()))
        count[k] += f.size

    for s in range(len(x_float)):
        xf = x_float[s:s + 1].astype(np.float32)
        xq = in_q.quantize(xf)
        f_it.set_tensor(f_in["index"], xf)
        f_it.invoke()
        q_it.set_tensor(q_in["index"], xq)
        q_it.invoke()
        acc(n_pairs, xf, in_q.dequantize(xq))  # the input's own quantization error
        for k, (fo, qo) in enumerate(pairs):
            acc(k, f_it.get_tensor(fo["outputs"][0]), quants[k].dequantize(q_it.get_tensor(qo["outputs"][0])))
        if progress is not None:
            progress("per-layer error", s + 1, len(x_float))

    sqnr = [_sqnr(sig[k], noise[k]) for k in range(n_pairs + 1)]
    producer = {int(qo["outputs"][0]): k for k, (_, qo) in enumerate(pairs)}
    graph_in = int(q_in["index"])
    rows: list[LayerError] = []
    for k, (fo, qo) in enumerate(pairs):
        out_t = q_td[qo["outputs"][0]]
        rmse = float(np.sqrt(noise[k] / max(count[k], 1)))
        rng = float(hi[k] - lo[k])
        # The SQNR coming in: the worst of the op's activation inputs.
        ins = [int(i) for i in qo["inputs"] if i >= 0 and (int(i) in producer or int(i) == graph_in)]
        in_sqnrs = [sqnr[n_pairs] if i == graph_in else sqnr[producer[i]] for i in ins]
        in_sqnrs = [v for v in in_sqnrs if v is not None]
        drop = None
        if sqnr[k] is not None:
            drop = (min(in_sqnrs) - sqnr[k]) if in_sqnrs else None
        rows.append(LayerError(
            index=int(qo["index"]), op=qo["op_name"], layer=layer_name(out_t["name"]), tensor=out_t["name"],
            shape=[int(v) for v in out_t["shape"]], scale=quants[k].scale,
            sqnr_db=None if sqnr[k] is None else round(sqnr[k], 2),
            rmse=rmse, rmse_over_range=rmse / rng if rng > 0 else 0.0,
            rmse_lsb=rmse / quants[k].scale if quants[k].scale > 0 else 0.0,
            sqnr_drop_db=None if drop is None else round(float(drop), 2)))
    ranked = sorted((r for r in rows if r.sqnr_drop_db is not None), key=lambda r: -r.sqnr_drop_db)
    for r in ranked[:n_dominant]:
        r.dominant = True
    input_row = LayerError(index=-1, op="INPUT", layer="input quantization", tensor=q_in["name"],
                           shape=[int(v) for v in q_in["shape"]], scale=in_q.scale,
                           sqnr_db=None if sqnr[n_pairs] is None else round(sqnr[n_pairs], 2),
                           rmse=float(np.sqrt(noise[n_pairs] / max(count[n_pairs], 1))),
                           rmse_over_range=float(np.sqrt(noise[n_pairs] / max(count[n_pairs], 1)) /
                                                 max(hi[n_pairs] - lo[n_pairs], 1e-30)),
                           rmse_lsb=float(np.sqrt(noise[n_pairs] / max(count[n_pairs], 1)) / in_q.scale)
                           if in_q.scale > 0 else 0.0, sqnr_drop_db=None)
    return [input_row, *rows]


@dataclass
class SizeFigures:
    float32_tflite_bytes: Optional[int]
    int8_tflite_bytes: int
    ratio: Optional[float]  # float32 / int8 file size
    parameters: int
    float32_weight_bytes: Optional[int]  # 4 bytes a parameter
    int8_weight_bytes: int  # constant buffers in the quantized model (int8 weights, int32 bias)
    weight_ratio: Optional[float]
    note: str


def constant_bytes(tflite: bytes) -> tuple[int, int]:
    """(parameters, bytes) held in constant tensors of a .tflite."""
    it = litert_interpreter(tflite, reference=False)
    ops = it._get_ops_details()
    produced = {int(o) for op in ops for o in op["outputs"] if o >= 0}
    inputs = {int(d["index"]) for d in it.get_input_details()}
    used = {int(i) for op in ops for i in op["inputs"] if i >= 0}
    n = b = 0
    for t in it.get_tensor_details():
        i = int(t["index"])
        if i in used and i not in produced and i not in inputs:
            cnt = int(np.prod(t["shape"])) if len(t["shape"]) else 1
            n += cnt
            b += cnt * np.dtype(t["dtype"]).itemsize
    return n, b


def size_figures(float_tflite: Optional[bytes], int8_tflite: bytes) -> SizeFigures:
    n_q, b_q = constant_bytes(int8_tflite)
    if float_tflite is None:
        return SizeFigures(None, len(int8_tflite), None, n_q, None, b_q, None,
                           "no float model given: only the quantized sizes")
    n_f, b_f = constant_bytes(float_tflite)
    ratio = len(float_tflite) / len(int8_tflite)
    wratio = b_f / b_q if b_q else None
    wtxt = "-" if wratio is None else f"{wratio:.2f}x"
    note = (f"weights {wtxt} smaller (int8 weights; biases stay int32, hence a bit under 4x); "
            f"file {ratio:.2f}x (the flatbuffer also holds graph structure and quantization scales)")
    return SizeFigures(len(float_tflite), len(int8_tflite), round(ratio, 3), n_f, b_f, b_q,
                       None if wratio is None else round(wratio, 3), note)
