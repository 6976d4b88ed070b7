"""From per-sample records to the "eval" section of report.json: per-cohort accuracy with
intervals for every path, paired comparisons, flagged cohorts with the stage that explains
each, bit-exactness, latency, energy and budget rows.

The section depends only on the records and the inputs named here, never on timing or
order, so a resumed run ends with the same section as an uninterrupted one (wall-clock
figures live in the separate "eval_run" section).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from edgekit import stats
from edgekit.harness.core import PATH_DESCRIPTIONS, PATHS
from edgekit.report.schema import EVAL_SCHEMA, EVAL_SCHEMA_VERSION  # noqa: F401 (the harness writes it)

# The paired steps from training to the device; each isolates one cause of an accuracy change.
STAGES = (
    ("quantization", "float", "int8_host"),
    ("kernels", "int8_host", "device_features"),
    ("preprocessing", "device_features", "device_e2e"),
)


@dataclass(frozen=True)
class MemoryFigures:
    flash_bytes: Optional[int]
    ram_bytes: Optional[int]
    how: str = "measured from link"


def device_path(records: Sequence[Mapping]) -> Optional[str]:
    """The path that stands for "the device": end to end when it ran, else host features."""
    for p in ("device_e2e", "device_features"):
        if any(stats.prediction(r, p) is not None for r in records):
            return p
    return None


def _path_status(records: Sequence[Mapping], path: str) -> dict:
    parts = [r.get("paths", {}).get(path) for r in records]
    parts = [p for p in parts if p is not None]
    ok = sum(1 for p in parts if p.get("status") == "ok")
    unavailable = [p for p in parts if p.get("status") == "unavailable"]
    errors: dict[str, int] = {}
    for p in parts:
        if p.get("status") == "error":
            errors[p.get("reason", "unknown")] = errors.get(p.get("reason", "unknown"), 0) + 1
    status = "ok" if ok and not errors else ("unavailable" if unavailable and not ok else
                                             ("partial" if ok else "failed" if errors else "absent"))
    out = {"description": PATH_DESCRIPTIONS.get(path, path), "status": status, "n_ok": ok, "errors": errors}
    if unavailable:
        out["reason"] = unavailable[0].get("reason", "")
    return out


def _histogram(values: Sequence[float], bins: int = 30) -> dict:
    counts, edges = np.histogram(np.asarray(values, dtype=np.float64), bins=bins)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _latency(records: Sequence[Mapping], path: str, keys: Sequence[str], clock_mhz: float, cpi: float) -> Optional[dict]:
    parts = [r["paths"][path] for r in records if stats.prediction(r, path) is not None]
    counts = [sum(p.get(k, 0) for k in keys) for p in parts]
    counts = [c for c in counts if c > 0]
    if not counts:
        return None
    units = {p.get("unit") for p in parts}
    unit = units.pop() if len(units) == 1 else "mixed"
    s = stats.latency_summary(counts, unit, clock_mhz, cpi)
    d = asdict(s)
    d["histogram"] = _histogram(counts)
    return d


def _bit_exact(records: Sequence[Mapping]) -> dict:
    compared = equal = 0
    for r in records:
        a, b = r["paths"].get("int8_host", {}), r["paths"].get("device_features", {})
        if a.get("status") == "ok" and b.get("status") == "ok" and "q" in a and "q" in b:
            compared += 1
            equal += a["q"] == b["q"]
    return {"compared": compared, "equal": equal, "share": (equal / compared) if compared else None,
            "how": "device int8 output vs LiteRT reference kernels on the same quantized input, byte for byte"}


def _attribution(records, fields, combos, threshold) -> list[dict]:
    """Per cohort, the accuracy change of each stage (paired difference with interval)."""
    by_stage = {}
    for stage, ref, path in STAGES:
        for c in stats.compare_paths(records, ref, path, fields, combos, threshold=threshold):
            by_stage.setdefault((c.field, c.value), {})[stage] = {
                "difference": c.difference, "ci_low": c.diff_ci_low, "ci_high": c.diff_ci_high,
                "p_value": c.p_value, "n": c.n, "significant": c.significant}
    rows = []
    for (f, v), stages_ in by_stage.items():
        rows.append({"field": f, "value": v, **{s: stages_.get(s) for s, _, _ in STAGES}})
    return rows


def _responsible_stage(attr: Optional[dict]) -> str:
    """The stage with the largest drop (significant ones first); "unexplained" when no stage
    shows a drop (e.g. the drop only appears against a reference path that is missing)."""
    if not attr:
        return "unexplained"
    cands = [(s, attr[s]) for s, _, _ in STAGES if attr.get(s)]
    drops = [(not d["significant"], d["difference"], s) for s, d in cands if d["difference"] < 0]
    if not drops:
        return "unexplained"
    return min(drops)[2]


def summarize(records: Sequence[Mapping], *, target, model_name: str, labels: Sequence[str],
              cohort_fields: Sequence[str], combos: Sequence[Sequence[str]] = (),
              max_cohort_drop: float = 0.02, memory: Optional[MemoryFigures] = None,
              device_info: Optional[dict] = None, model_cpi: Optional[float] = None) -> dict:
    """model_cpi: cycles per instruction of the model from `edgekit build`'s cycle estimate
    (edgekit.cycles), for the model's latency; without it the profile's cpi is used."""
    records = sorted(records, key=lambda r: r["id"])
    fields = [f for f in cohort_fields if any(f in r.get("cohort", {}) for r in records)]
    combos = [list(c) for c in combos]
    dev = device_path(records)

    paths = {p: _path_status(records, p) for p in PATHS}
    accuracy = []
    for p in PATHS:
        rows = stats.accuracy_by_cohort(records, p, fields, combos)
        accuracy += [asdict(r) for r in rows]
        overall = next((r for r in rows if r.field == "all"), None)
        if overall:
            paths[p].update(n=overall.n, correct=overall.correct, accuracy=overall.accuracy,
                            ci_low=overall.ci_low, ci_high=overall.ci_high)

    comparisons = []
    for _, ref, path in STAGES:
        comparisons += [asdict(c) for c in stats.compare_paths(records, ref, path, fields, combos,
                                                               threshold=max_cohort_drop)]
    flag_rows = []
    attribution = _attribution(records, fields, combos, max_cohort_drop)
    attr_by = {(a["field"], a["value"]): a for a in attribution}
    if dev is not None:
        vs_ref = stats.compare_paths(records, "float", dev, fields, combos, threshold=max_cohort_drop)
        comparisons += [asdict(c) for c in vs_ref]
        for c in vs_ref:
            if c.flagged:
                flag_rows.append({"field": c.field, "value": c.value, "path": dev, "n": c.n,
                                  "accuracy_reference": c.accuracy_reference, "accuracy_path": c.accuracy_path,
                                  "difference": c.difference, "p_value": c.p_value,
                                  "stage": _responsible_stage(attr_by.get((c.field, c.value)))})

    clock = target.clock_mhz
    cpi = target.core.cpi if target.core is not None else 1.0
    latency = {}
    if dev is not None:
        # request = what one keyword decision costs: the frontend, then the model
        latency["request"] = _latency(records, dev, ("frontend_count", "model_count"), clock, cpi)
        latency["model"] = _latency(records, dev, ("model_count",), clock, model_cpi or cpi)
        if model_cpi and latency["model"] and stats.is_instruction_unit(latency["model"]["unit"]):
            latency["model"]["time_how"] = (
                f"estimated: instructions x {model_cpi:.3f} cycles/instruction (cycles estimated from the executed "
                f"instruction mix of one traced inference, edgekit build) / {clock:g} MHz")
        latency["frontend"] = _latency(records, dev, ("frontend_count",), clock, cpi)

    energy, budgets = _budgets(records, dev, target, memory)

    confusion = None
    cpath = dev or ("int8_host" if paths["int8_host"]["n_ok"] else "float")
    if paths.get(cpath, {}).get("n_ok"):
        confusion = {"path": cpath, "labels": list(labels),
                     "matrix": stats.confusion_matrix(records, cpath, len(labels))}

    n_errors: dict[str, int] = {}
    for p in ("device_features", "device_e2e"):
        for k, v in paths[p]["errors"].items():
            n_errors[k] = n_errors.get(k, 0) + v
    return {
        "schema": EVAL_SCHEMA, "version": EVAL_SCHEMA_VERSION,
        "target": target.name, "model": model_name, "labels": list(labels),
        "device": device_info or {},
        "samples": {"total": len(records), "device_errors": n_errors},
        "device_path": dev,
        "cohort_fields": list(fields), "combinations": combos,
        "max_cohort_drop": max_cohort_drop,
        "paths": paths, "accuracy": accuracy, "comparisons": comparisons,
        "flagged": flag_rows, "attribution": attribution,
        "bit_exact": _bit_exact(records),
        "latency": latency, "energy": energy, "budgets": budgets,
        "confusion": confusion,
    }


def _budgets(records, dev, target, memory: Optional[MemoryFigures]) -> tuple[Optional[dict], list[dict]]:
    """Budget rows from edgekit.budget (the one place figures meet budgets), fed with the
    p99 of the per-sample request cost (frontend + model) measured in this evaluation."""
    from edgekit import budget

    counts, unit = [], None
    if dev is not None:
        for r in records:
            if stats.prediction(r, dev) is not None:
                p = r["paths"][dev]
                counts.append(p.get("model_count", 0) + p.get("frontend_count", 0))
                unit = p.get("unit", unit)
    p99 = stats.percentile_nearest_rank(counts, 99) if counts and max(counts) > 0 else None
    emulated = unit is None or stats.is_instruction_unit(unit)
    figures = budget.estimate_figures(
        target, flash_bytes=memory.flash_bytes if memory else None, ram_bytes=memory.ram_bytes if memory else None,
        instructions=p99 if emulated else None, cycles=None if emulated else p99)
    result = budget.check(target, figures)
    rows = []
    for r in result.rows:
        d = asdict(r)
        d.pop("margin_pct", None)
        if r.unit == "ms":
            d["how"] = f"{r.how}, p99 over {len(counts)} samples (frontend + model)"
        rows.append(d)
    energy = None
    if figures.latency_ms is not None:
        energy = {"energy_per_inference_uj": figures.energy_per_inference_uj,
                  "average_power_mw": figures.average_power_mw,
                  "inference_rate_hz": target.budgets.inference_rate_hz,
                  "latency_ms": figures.latency_ms, "how": figures.energy_how + " at the p99 latency"}
    return energy, rows
