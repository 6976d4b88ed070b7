"""edgekit train"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption, console, print_json, progress, table


def train_cmd(
    model: str = typer.Option(..., "--model", "-m", help="reference model to train (kws, mobilenetv2)"),
    epochs: Optional[int] = typer.Option(None, help="override the epochs in model.yaml"),
    seed: Optional[int] = typer.Option(None, help="override the seed in model.yaml"),
    json_out: bool = JsonOption,
) -> None:
    """Train a reference model from its prepared data; writes weights and per-cohort metrics."""
    from edgekit.cli.data import progress_callback
    from edgekit.models import load_model
    from edgekit.train import train

    spec = load_model(model)
    with progress(not json_out) as p:
        result = train(spec, epochs=epochs, seed=seed, progress=progress_callback(p, log_lines=not json_out))
    if json_out:
        out = {k: v for k, v in vars(result).items() if k != "history"}
        print_json(out)
        return
    console.print(f"[bold]{spec.name}[/bold]: float top-1 on the held-out test split {100 * result.accuracy:.2f}% "
                  f"(measured, n={result.n}); val {100 * result.val_accuracy:.2f}% at epoch "
                  f"{result.best_epoch}/{result.epochs}; {result.params} parameters; "
                  f"trained in {result.train_seconds:.0f} s (seed {result.seed})")
    console.print(f"weights: {result.weights_path}\nmetrics: {result.metrics_path}")
    for field, groups in result.per_cohort.items():
        console.print(table(f"per {field}", [field, "n", "accuracy"],
                            [(k, g["n"], f"{100 * g['accuracy']:.2f}%") for k, g in groups.items()]))
