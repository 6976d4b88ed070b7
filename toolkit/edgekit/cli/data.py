"""edgekit data prepare"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError

app = typer.Typer(help="Prepare datasets with cohort metadata.", no_args_is_help=True)


@app.command("prepare")
def prepare_cmd(
    model: str = typer.Option(..., "--model", "-m", help="model whose dataset to prepare (kws, mobilenetv2)"),
    seed: int = typer.Option(0, help="generator seed; the same seed gives the same data"),
    limit: Optional[int] = typer.Option(None, help="at most this many samples per split (for quick runs)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="skip unreadable or mislabelled files instead of stopping"),
    json_out: bool = JsonOption,
) -> None:
    """Synthesize (KWS, espeak-ng) or render (Fashion-MNIST camera bench) a dataset; cached afterwards."""
    raise UserError("`edgekit data prepare` is not implemented yet (issue #3)")
