"""The skew gate over any skew result (generated firmware, or an entry point on the host):
CheckFailed (exit 1) when a cohort's preprocessing costs accuracy; the rows are
edgekit.report.gates.skew_gate_rows, as in report.json's junit (docs/ARCHITECTURE.md, skew)."""

from __future__ import annotations


def gate(result) -> None:
    from edgekit.report.gates import enforce, skew_gate_rows

    flagged = result.preprocessing_skew
    names = ", ".join(f"{f['field']}={f['value']} ({100 * f['difference']:+.1f} points)" for f in flagged)
    enforce(skew_gate_rows({"decomposition": getattr(result, "decomposition", []), "preprocessing_skew": flagged,
                            "max_cohort_drop": result.max_cohort_drop}),
            headline=f"preprocessing skew on {result.model}/{result.target}: {names}; report: {result.report_json}")
