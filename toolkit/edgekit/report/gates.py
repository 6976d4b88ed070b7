"""Gates over an eval section: minimum accuracy, maximum cohort drop, a device's tolerance
against a reference path, the profile budgets.

Every gate is a row (also a junit test case); `enforce` raises CheckFailed with the rows
that failed, which the CLI prints as a table and turns into exit code 1.
"""

from __future__ import annotations

from typing import Optional

from edgekit.errors import CheckFailed


def gate_rows(section: dict, min_accuracy: Optional[float] = None) -> list[dict]:
    rows: list[dict] = []
    dev = section.get("device_path")
    if min_accuracy is not None:
        p = section["paths"].get(dev) if dev else None
        if p is None or p.get("accuracy") is None:
            rows.append({"gate": "min_accuracy", "subject": "device", "value": None, "limit": min_accuracy,
                         "passed": False, "detail": "no device results to check"})
        else:
            rows.append({"gate": "min_accuracy", "subject": f"{dev} overall", "value": round(p["accuracy"], 4),
                         "limit": min_accuracy, "passed": p["accuracy"] >= min_accuracy,
                         "detail": f"{p['correct']}/{p['n']} correct, 95% CI "
                                   f"[{p['ci_low']:.3f}, {p['ci_high']:.3f}]"})
    flagged = {(f["field"], f["value"]): f for f in section.get("flagged", [])}
    for c in section.get("comparisons", []):
        if c["reference"] != "float" or c["path"] != dev:
            continue
        f = flagged.get((c["field"], c["value"]))
        rows.append({"gate": "max_cohort_drop", "subject": "overall" if c["field"] == "all" else f"{c['field']}={c['value']}",
                     "value": round(-c["difference"], 4) + 0.0, "limit": section.get("max_cohort_drop"),
                     "passed": f is None,
                     "detail": (f"drop {round(-c['difference'] * 100, 1) + 0.0:.1f} points vs float, p={c['p_value']:.3g}"
                                + (f", explained by {f['stage']}" if f else ""))})
    rows += tolerance_rows(section)
    rows += [_budget_row(b) for b in section.get("budgets", [])]
    if section.get("samples", {}).get("device_errors"):
        errs = section["samples"]["device_errors"]
        rows.append({"gate": "device_errors", "subject": "device", "value": sum(errs.values()), "limit": 0,
                     "passed": False, "detail": ", ".join(f"{k}: {v}" for k, v in sorted(errs.items()))})
    return rows


def _budget_row(b: dict) -> dict:
    return {"gate": "budget", "subject": b["name"], "value": round(b["value"], 3), "limit": b["budget"],
            "passed": b["passed"], "detail": f"{b['unit']}, {b['how']}"}


def skew_gate_rows(skew: dict) -> list[dict]:
    """One row per cohort of an `edgekit skew` section: failed where the preprocessing costs
    accuracy (its `preprocessing_skew` list; edgekit.skew's gate raises on the same cohorts),
    passed for the other cohorts of its `decomposition`."""
    bad = {(f["field"], f["value"]): f for f in skew.get("preprocessing_skew", [])}
    checked = [(d["field"], d["value"], d.get("preprocessing") or {}, d.get("firmware", []))
               for d in skew.get("decomposition", [])]
    seen = {(f, v) for f, v, _, _ in checked}
    checked += [(f["field"], f["value"], f, f.get("firmware", [])) for k, f in bad.items() if k not in seen]
    rows = []
    for field, value, pre, firmware in checked:
        f = bad.get((field, value))
        rows.append({"gate": "preprocessing_skew",
                     "subject": "overall" if field == "all" else f"{field}={value}",
                     "value": round(-pre.get("difference", 0.0), 4) + 0.0, "limit": skew.get("max_cohort_drop"),
                     "passed": f is None,
                     "detail": (f"preprocessing change {100 * pre.get('difference', 0.0):+.1f} points, "
                                f"p={pre.get('p_value', 1.0):.3g}, firmware {', '.join(firmware)}")})
    return rows


def npu_gate_rows(npu: dict) -> list[dict]:
    """The NPU build's op coverage and budgets (its evaluation is an eval section: gate_rows)."""
    rows = []
    if "ops_total" in npu:  # an eval alone (no build recorded here) has no coverage to gate
        rows.append({"gate": "npu_ops", "subject": "ops on the NPU", "value": npu["ops_on_npu"],
                     "limit": npu["ops_total"], "passed": bool(npu.get("all_on_npu")),
                     "detail": ", ".join(str(o.get("op_type", o)) if isinstance(o, dict) else str(o)
                                         for o in npu.get("cpu_ops", [])) or "every op on the NPU"})
    return rows + [_budget_row(b) for b in (npu.get("budget") or {}).get("rows", [])]


# Accuracy points are compared with this slack: 9 flips in 900 samples is 1.0 point exactly,
# which float arithmetic may render as 1.0000000000000009.
_POINTS_EPS = 1e-9


def tolerance_rows(section: dict) -> list[dict]:
    """A device held to a reference path within a tolerance, overall and per cohort: the
    eval section's "tolerance" ({"reference": path, "points": p}), which a runtime whose
    device is not bit-exact by design adds (the QNN HTP emulator against the same QDQ model
    on ONNX Runtime's CPU provider, npu/qnn_eval.py). The difference is the device's correct
    count minus the reference's over the cohort's samples, in accuracy points."""
    tol, dev = section.get("tolerance"), section.get("device_path")
    if not tol or dev is None:
        return []
    ref = tol["reference"]
    by = {(a["path"], a["field"], a["value"]): a for a in section.get("accuracy", [])}
    rows = []
    for a in section.get("accuracy", []):
        r = by.get((ref, a["field"], a["value"]))
        if a["path"] != dev or r is None or not a["n"]:
            continue
        diff = round(100.0 * (a["correct"] - r["correct"]) / a["n"], 4)
        rows.append({"gate": "tolerance", "subject": "overall" if a["field"] == "all" else f"{a['field']}={a['value']}",
                     "value": diff, "limit": tol["points"], "passed": abs(diff) <= tol["points"] + _POINTS_EPS,
                     "detail": f"{dev} - {ref}, accuracy points, n={a['n']}"})
    return rows


def report_gate_rows(report: dict) -> list[dict]:
    """Every gate a report.json records, over its eval, skew and npu sections and the
    sections stages render themselves (report.html.EXTERNAL_SECTIONS)."""
    from edgekit.report.html import EXTERNAL_SECTIONS, external_section

    return ((report.get("eval") or {}).get("gates", []) +
            (skew_gate_rows(report["skew"]) if report.get("skew") else []) +
            ((report.get("skew_entry_point") or {}).get("gates") or []) +
            (npu_gate_rows(report["npu"]) if report.get("npu") else []) +
            [row for name in EXTERNAL_SECTIONS if report.get(name)
             for row in external_section(name).gate_rows(report[name])])


def enforce(rows: list[dict], headline: Optional[str] = None) -> None:
    """CheckFailed with the failed rows; `headline` replaces the default message."""
    failed = [r for r in rows if not r["passed"]]
    if failed:
        names = ", ".join(sorted({r["gate"] for r in failed}))
        raise CheckFailed(headline or f"{len(failed)} gate(s) failed ({names})",
                          [{k: r[k] for k in ("gate", "subject", "value", "limit", "detail")} for r in failed])
