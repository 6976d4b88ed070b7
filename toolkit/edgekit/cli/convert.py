"""edgekit convert"""

from __future__ import annotations

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError


def convert_cmd(
    model: str = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml"),
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    activations: str = typer.Option("int8", help="activation type: int8, or int16 where the runtime supports it"),
    json_out: bool = JsonOption,
) -> None:
    """Quantize for the target: op coverage check, int8 model, per-layer and per-cohort error."""
    raise UserError("`edgekit convert` is not implemented yet (issue #4)")
