"""edgekit report"""

from __future__ import annotations

from pathlib import Path

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError


def report_cmd(
    directory: Path = typer.Argument(..., help="a build/<target>/<model> folder holding report.json"),
    json_out: bool = JsonOption,
) -> None:
    """Regenerate report.html (and junit.xml) from a report.json."""
    raise UserError("`edgekit report` is not implemented yet (issue #6)")
