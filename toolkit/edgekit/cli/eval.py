"""edgekit eval"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError


def eval_cmd(
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    model: str = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml"),
    device: str = typer.Option("qemu", help="qemu, or serial:/dev/ttyACM0[@baud] for a real board"),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="emulator instances in parallel (default: cores)"),
    limit: Optional[int] = typer.Option(None, help="evaluate at most this many test samples"),
    cohorts: Optional[str] = typer.Option(None, help="extra cohort combinations, e.g. mic+snr_db"),
    min_accuracy: Optional[float] = typer.Option(None, help="gate: overall device accuracy at least this (0-1)"),
    max_cohort_drop: float = typer.Option(0.02, help="flag a cohort whose significant drop exceeds this"),
    firmware_variant: Optional[str] = typer.Option(None, help="preprocessing variant of the firmware frontend"),
    json_out: bool = JsonOption,
) -> None:
    """Run the test split on the device: per-cohort accuracy, latency, memory, energy, gates."""
    raise UserError("`edgekit eval` is not implemented yet (issue #6)")
