"""The skew question over harness records of device runs: the accuracy change per cohort split
into stages, the cohorts whose preprocessing alone costs accuracy, parity merged over
firmware, and example samples where two paths disagree (docs/ARCHITECTURE.md, skew)."""

from __future__ import annotations

from typing import Mapping, Sequence

from edgekit import stats
from edgekit.harness.fleet import carried_by

STAGE_ORDER = ("quantization", "kernels", "preprocessing")
EXAMPLES_PER_STAGE = 5

def merge_parity(parts: Sequence) -> dict:
    """ParityStats of several firmware over one cohort -> one row (exact: max of maxima,
    element-weighted shares and means)."""
    n_el = sum(p.n_elements for p in parts)
    if not n_el:
        return {"n_samples": 0, "n_elements": 0, "max_abs_diff": 0, "mean_abs_diff": 0.0,
                "share_differing": 0.0, "share_within_one_step": 1.0}
    return {
        "n_samples": sum(p.n_samples for p in parts), "n_elements": n_el,
        "max_abs_diff": max(p.max_abs_diff for p in parts),
        "mean_abs_diff": sum(p.mean_abs_diff * p.n_elements for p in parts) / n_el,
        "share_differing": sum(p.share_differing * p.n_elements for p in parts) / n_el,
        "share_within_one_step": sum(p.share_within_one_step * p.n_elements for p in parts) / n_el,
    }


def decomposition(section: dict) -> list[dict]:
    """Per cohort: each path's accuracy with its interval, and the three stages."""
    acc: dict[tuple[str, str], dict] = {}
    for row in section["accuracy"]:
        acc.setdefault((row["field"], row["value"]), {})[row["path"]] = {
            "n": row["n"], "accuracy": row["accuracy"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}
    out = []
    for a in section["attribution"]:
        key = (a["field"], a["value"])
        out.append({"field": a["field"], "value": a["value"], "paths": acc.get(key, {}),
                    **{s: a.get(s) for s in STAGE_ORDER}})
    return out


def preprocessing_skew(decomposition: Sequence[dict], firmware_of: Mapping, threshold: float) -> list[dict]:
    """Cohorts whose preprocessing step (device features -> device end to end, same firmware,
    same samples) is a significant drop larger than `threshold`: skew on its own, whatever
    quantization or the kernels did to the same cohort. `carried_by` names the firmware whose
    samples of the cohort drop by more than `threshold` (all of them on one firmware)."""
    out = []
    for d in decomposition:
        pre = d.get("preprocessing")
        if pre and pre["significant"] and -pre["difference"] > threshold:
            firmware = sorted(firmware_of.get((d["field"], d["value"]), ()))
            carried = carried_by(firmware, d.get("preprocessing_by_firmware") or {}, threshold)
            out.append({"field": d["field"], "value": d["value"], "stage": "preprocessing",
                        "firmware": firmware, "carried_by": carried,
                        "difference": pre["difference"], "ci_low": pre["ci_low"], "ci_high": pre["ci_high"],
                        "p_value": pre["p_value"], "n": pre["n"]})
    return out


STAGE_PATHS = {"quantization": ("float", "int8_host"), "kernels": ("int8_host", "device_features"),
               "preprocessing": ("device_features", "device_e2e")}


def examples(records: Sequence[Mapping], labels: Sequence[str], prefer: Sequence[tuple[str, str]],
              per_stage: int = EXAMPLES_PER_STAGE) -> dict:
    """Per stage, a few sample ids whose two paths predict differently (samples of flagged
    cohorts first, then where the reference path was right, then by id)."""
    out = {}
    for stage, (a, b) in STAGE_PATHS.items():
        rows = []
        for r in records:
            pa, pb = stats.prediction(r, a), stats.prediction(r, b)
            if pa is None or pb is None or pa == pb:
                continue
            in_flagged = any(stats.cohort_key(r, [f]) == v for f, v in prefer)
            rows.append((not in_flagged, pa != r["label"], r["id"], {
                "id": r["id"], "cohort": r["cohort"], "label": labels[r["label"]],
                a: labels[pa] if 0 <= pa < len(labels) else pa,
                b: labels[pb] if 0 <= pb < len(labels) else pb}))
        rows.sort(key=lambda t: t[:3])
        out[stage] = {"paths": [a, b], "disagreeing": len(rows), "examples": [t[3] for t in rows[:per_stage]]}
    return out

