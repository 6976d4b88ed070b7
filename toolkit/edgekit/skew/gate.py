"""The skew gate over any skew result (generated firmware, or an entry point on the host):
CheckFailed (exit 1) when a cohort's preprocessing costs accuracy; the rows are
edgekit.report.gates.skew_gate_rows, as in report.json's junit (docs/ARCHITECTURE.md, skew)."""

from __future__ import annotations


def gate(result) -> None:
    from edgekit.report.gates import enforce, skew_gate_rows

    flagged = result.preprocessing_skew
    # Name the cohorts that carry a drop; those flagged only through samples they share
    # with a carrier (an entry point's carried_by) are counted, and listed in the rows.
    # (The firmware run's carried_by lists firmware variants instead: every flag is named.)
    own = [f for f in flagged if not isinstance(f.get("carried_by"), str)
           or f["carried_by"] == f"{f['field']}={f['value']}" or f["field"] == "all"]
    names = ", ".join(f"{f['field']}={f['value']} ({100 * f['difference']:+.1f} points)" for f in own)
    if len(own) < len(flagged):
        names += f" (and {len(flagged) - len(own)} cohort(s) through the samples they share)"
    enforce(skew_gate_rows({"decomposition": getattr(result, "decomposition", []), "preprocessing_skew": flagged,
                            "max_cohort_drop": result.max_cohort_drop}),
            headline=f"preprocessing skew on {result.model}/{result.target}: {names}; report: {result.report_json}")
