"""edgekit build"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError


def build_cmd(
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    model: str = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml"),
    firmware_variant: Optional[str] = typer.Option(None, help="preprocessing variant of the firmware frontend"),
    kernels: Optional[str] = typer.Option(None, help="override the profile's kernels: reference, dsp"),
    json_out: bool = JsonOption,
) -> None:
    """Convert, generate code, compile firmware (or an NPU artefact) and check the budgets."""
    raise UserError("`edgekit build` is not implemented yet (issue #5)")
