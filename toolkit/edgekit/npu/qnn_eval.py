"""`edgekit eval` on a Snapdragon HTP target: the QNN HTP emulator is the device, the same QDQ
model on ONNX Runtime's CPU provider its int8 host reference (docs/ARCHITECTURE.md,
"Runtime backends"). Records are per-sample records as the harness writes them (paths
float, int8_host, device_features), per-cohort accuracy comes from edgekit.stats, and the
gate rows and the exit from edgekit.report.gates, as for every other target.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit import reportstore, resources
from edgekit.errors import UserError
from edgekit.npu import SECTION, say as _say
from edgekit.npu.qnn import Progress, _check_target, compare_outputs
from edgekit.npu.qnn_ep import cpu_session, htp_session, run_session
from edgekit.targets.schema import TargetProfile


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
            # The harness's per-sample record (edgekit.harness.records), this runtime's paths.
            fh.write(json.dumps({"id": sid, "cohort": cohorts[i], "label": int(y[i]), "paths": {
                k: {"status": "ok", "pred": int(preds[k][i]),
                    "scores": [round(float(v), 6) for v in scores[k][i].reshape(-1)]} for k in scores}}) + "\n")
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
    from edgekit.stats import accuracy_by_cohort

    recs = [json.loads(line) for line in Path(records_path).read_text().splitlines() if line.strip()]
    if not recs:
        raise UserError(f"{records_path}: no records; run the evaluation again")
    # The HTP runs model_qdq.onnx (compiled for the SoC); the same QDQ model on ONNX Runtime's
    # CPU EP is its int8 host reference (same scales and zero points, host kernels).
    reference, device = "int8_qdq_cpu", "htp_emulator"
    paths = list(recs[0]["paths"])
    fields = sorted({f for r in recs for f in r["cohort"]})
    # Per-cohort accuracy of every path: edgekit.stats, as for every other target.
    by = {k: {(a.field, a.value): a for a in accuracy_by_cohort(recs, k, fields)} for k in paths}
    y = np.array([r["label"] for r in recs])
    preds = {k: np.array([r["paths"][k]["pred"] for r in recs]) for k in paths}
    scores = {k: np.array([r["paths"][k]["scores"] for r in recs], np.float32) for k in paths}
    acc = {k: by[k][("all", "all")].accuracy for k in paths}

    def points(key, other: str) -> float:
        d, o = by[device][key], by[other][key]
        return 100.0 * (d.correct - o.correct) / d.n

    rows: list[CohortRow] = []
    for key, dev in by[device].items():
        if key[0] == "all":
            continue
        diff = points(key, reference)
        vs = {k: round(points(key, k), 4) for k in paths if k != device}
        rows.append(CohortRow(key[0], key[1], dev.n, {k: by[k][key].accuracy for k in paths}, round(diff, 4),
                              abs(diff) <= tolerance_points + _POINTS_EPS, vs))
    overall_diff = points(("all", "all"), reference)
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
    """The accuracy gate: the rows edgekit.report.gates makes of the eval section (the same
    rows report.html and junit.xml show), CheckFailed naming the cohorts where the HTP
    emulator is further than the tolerance from the int8 host reference."""
    from edgekit.report.gates import enforce, npu_accuracy_rows

    rows = npu_accuracy_rows(asdict(result))
    if result.passed and all(r["passed"] for r in rows):
        return
    bad = [r for r in rows if not r["passed"]]
    where = ", ".join(f"{r['subject']} ({r['value']:+.2f} points)" for r in bad) or \
        f"overall ({result.overall_diff_points:+.2f} points)"
    if not bad:
        rows.append({"gate": "npu_accuracy", "subject": "overall", "value": result.overall_diff_points,
                     "limit": result.tolerance_points, "passed": False, "detail": f"points vs {result.reference}"})
    enforce(rows, f"{result.target}/{result.model}: HTP emulator accuracy differs from the int8 "
                  f"host reference by more than {result.tolerance_points:g} point(s): {where}")


def _write_eval_section(out_dir: Path, result: QnnEvalResult) -> None:
    from edgekit.report import write_reports

    section = reportstore.read_report(out_dir).get(SECTION) or {}
    ev = asdict(result)
    ev["how"] = "measured on the QNN HTP emulator (x86)"
    section["eval"] = ev
    reportstore.write_section(out_dir, SECTION, section)
    write_reports(out_dir)

