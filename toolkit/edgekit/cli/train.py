"""edgekit train"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError


def train_cmd(
    model: str = typer.Option(..., "--model", "-m", help="reference model to train (kws, mobilenetv2)"),
    epochs: Optional[int] = typer.Option(None, help="override the epochs in model.yaml"),
    seed: Optional[int] = typer.Option(None, help="override the seed in model.yaml"),
    json_out: bool = JsonOption,
) -> None:
    """Train a reference model from its prepared data; writes weights and per-cohort metrics."""
    raise UserError("`edgekit train` is not implemented yet (issue #3)")
