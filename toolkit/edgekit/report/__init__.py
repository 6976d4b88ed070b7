"""Reports from report.json: report.html (self-contained, with plots) and junit.xml.

    from edgekit.report import write_reports
    files = write_reports(Path("build/cortex-m4/kws"))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import UserError
from edgekit.fileio import write_atomic
from edgekit.reportstore import REPORT_NAME, read_report
from edgekit.report.schema import validate_eval

HTML_NAME = "report.html"
JUNIT_NAME = "junit.xml"


@dataclass(frozen=True)
class ReportFiles:
    report_json: Path
    html: Path
    junit: Path
    gates_total: int
    gates_failed: int


def write_reports(directory: Path) -> ReportFiles:
    """(Re)generate report.html and junit.xml from directory/report.json."""
    from edgekit.report.gates import report_gate_rows
    from edgekit.report.html import SECTIONS, identity, render_html
    from edgekit.report.junit import junit_xml

    directory = Path(directory)
    rj = directory / REPORT_NAME
    if not rj.is_file():
        raise UserError(f"{rj}: no report.json here; run `edgekit eval --target T --model M` first")
    try:
        report = read_report(directory)
    except ValueError as exc:
        raise UserError(f"{rj}: not valid JSON ({exc}); run `edgekit eval` again") from None
    present = [k for k in SECTIONS if report.get(k)]
    if not present:
        raise UserError(f"{rj}: has no eval, skew or npu section; run `edgekit eval`, `edgekit skew`, "
                        f"or `edgekit build` for an NPU target, to add one")
    if "eval" in report:
        validate_eval(report["eval"], str(rj))
    gates = report_gate_rows(report)
    html_path, junit_path = directory / HTML_NAME, directory / JUNIT_NAME
    write_atomic(html_path, render_html(report))
    write_atomic(junit_path, junit_xml(*identity(report), gates))
    return ReportFiles(rj, html_path, junit_path, len(gates), sum(1 for g in gates if not g["passed"]))


__all__ = ["ReportFiles", "write_reports", "validate_eval", "HTML_NAME", "JUNIT_NAME"]
