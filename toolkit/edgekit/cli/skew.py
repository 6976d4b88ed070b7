"""edgekit skew"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError


def skew_cmd(
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    model: str = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml"),
    firmware_variant: Optional[str] = typer.Option(None, help="preprocessing variant of the firmware frontend"),
    limit: Optional[int] = typer.Option(None, help="at most this many samples per cohort"),
    json_out: bool = JsonOption,
) -> None:
    """Is there training-serving skew on this firmware, where, and how much?"""
    raise UserError("`edgekit skew` is not implemented yet (issue #7)")
