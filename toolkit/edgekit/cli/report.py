"""edgekit report"""

from __future__ import annotations

from pathlib import Path

import typer

from edgekit.cli._common import JsonOption, console, print_json


def report_cmd(
    directory: Path = typer.Argument(..., help="a build/<target>/<model> folder holding report.json"),
    json_out: bool = JsonOption,
) -> None:
    """Regenerate report.html (and junit.xml) from a report.json."""
    from edgekit.report import write_reports

    files = write_reports(directory)
    if json_out:
        print_json(files)
        return
    console.print(f"wrote {files.html} and {files.junit} "
                  f"({files.gates_total - files.gates_failed}/{files.gates_total} gates passed)")
