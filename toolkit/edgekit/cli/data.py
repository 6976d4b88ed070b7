"""edgekit data prepare"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption, console, err_console, print_json, progress, table

app = typer.Typer(help="Prepare datasets with cohort metadata.", no_args_is_help=True)


def progress_callback(p, log_lines: bool = False):
    """Adapt a rich Progress to the library's progress(description, done, total) callable.

    With `log_lines` and no terminal (a log file, CI), print a plain line per step of slow
    stages instead (every step of short stages like epochs, every 10% of long ones).
    """
    tasks: dict[str, int] = {}
    last: dict[str, int] = {}

    def update(description: str, done: int, total: int) -> None:
        if log_lines and not err_console.is_terminal:
            stage = description.split(" (")[0]
            step = 1 if total <= 100 else total // 10
            if done == total or done - last.get(stage, -step) >= step:
                last[stage] = done
                err_console.print(f"{description}: {done}/{total}", highlight=False, markup=False)
            return
        if description not in tasks:
            tasks[description] = p.add_task(description, total=total)
        p.update(tasks[description], completed=done, total=total)

    return update


@app.command("prepare")
def prepare_cmd(
    model: str = typer.Option(..., "--model", "-m", help="model whose dataset to prepare (kws, mobilenetv2)"),
    seed: int = typer.Option(0, help="generator seed; the same seed gives the same data"),
    limit: Optional[int] = typer.Option(None, help="at most this many samples per split (for quick runs)"),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="skip unreadable or mislabelled files instead of stopping"),
    json_out: bool = JsonOption,
) -> None:
    """Synthesize (KWS, espeak-ng) or render (Fashion-MNIST camera bench) a dataset; cached afterwards."""
    import time

    from edgekit import data as data_lib
    from edgekit.errors import UserError
    from edgekit.models import load_model

    if limit is not None and limit <= 0:
        raise UserError(f"--limit {limit}: must be a positive number of samples per split")
    spec = load_model(model)
    t0 = time.monotonic()
    with progress(not json_out) as p:
        ds = data_lib.prepare(spec, seed=seed, limit=limit, skip_bad=skip_bad, progress=progress_callback(p, log_lines=not json_out))
    summary = data_lib.summarize(spec, ds)
    summary["seconds"] = round(time.monotonic() - t0, 1)
    if json_out:
        print_json(summary)
        return
    console.print(f"[bold]{spec.name}[/bold]: {summary['n']} samples in {ds.root} "
                  f"(seed {summary['seed']}, data hash {summary['data_hash']}, {summary['seconds']} s)")
    console.print(table("splits", ["split", "samples"], summary["counts"].items()))
    console.print(table("per label", ["label", *data_lib.SPLITS],
                        [(lab, *(c.get(s, 0) for s in data_lib.SPLITS)) for lab, c in summary["per_label"].items()]))
    for field, groups in summary["per_cohort"].items():
        console.print(table(f"per {field}", [field, *data_lib.SPLITS],
                            [(v, *(c.get(s, 0) for s in data_lib.SPLITS)) for v, c in groups.items()]))
