"""Reports from report.json: report.html (self-contained, with plots) and junit.xml.

    from edgekit.report import write_reports
    files = write_reports(Path("build/cortex-m4/kws"))
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import UserError
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


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_reports(directory: Path) -> ReportFiles:
    """(Re)generate report.html and junit.xml from directory/report.json."""
    from edgekit.report.html import render_html
    from edgekit.report.junit import junit_xml

    directory = Path(directory)
    rj = directory / REPORT_NAME
    if not rj.is_file():
        raise UserError(f"{rj}: no report.json here; run `edgekit eval --target T --model M` first")
    try:
        report = read_report(directory)
    except ValueError as exc:
        raise UserError(f"{rj}: not valid JSON ({exc}); run `edgekit eval` again") from None
    if "eval" not in report:
        raise UserError(f"{rj}: has no eval section; run `edgekit eval` to add one")
    validate_eval(report["eval"], str(rj))
    html_path, junit_path = directory / HTML_NAME, directory / JUNIT_NAME
    _write_text_atomic(html_path, render_html(report))
    _write_text_atomic(junit_path, junit_xml(report["eval"]))
    gates = report["eval"]["gates"]
    return ReportFiles(rj, html_path, junit_path, len(gates), sum(1 for g in gates if not g["passed"]))


__all__ = ["ReportFiles", "write_reports", "validate_eval", "HTML_NAME", "JUNIT_NAME"]
