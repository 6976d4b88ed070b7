"""edgekit models list|show"""

from __future__ import annotations

import typer

from edgekit import models as models_lib
from edgekit.cli._common import JsonOption, console, print_json, table

app = typer.Typer(help="List and inspect models (models/<name>/model.yaml).", no_args_is_help=True)


@app.command("list")
def list_cmd(json_out: bool = JsonOption) -> None:
    """List the models with their task, labels and committed float accuracy."""
    specs = [models_lib.load_model(n) for n in models_lib.list_models()]
    out = []
    for s in specs:
        m = s.load_metrics() or {}
        out.append({"name": s.name, "task": s.task, "labels": len(s.labels),
                    "input": list(s.preprocessing.output_shape), "float_accuracy": m.get("accuracy")})
    if json_out:
        print_json(out)
        return
    console.print(table("models", ["model", "task", "classes", "input", "float accuracy (test)"],
                        [(o["name"], o["task"], o["labels"], "x".join(map(str, o["input"])),
                          "not trained" if o["float_accuracy"] is None else f"{100 * o['float_accuracy']:.2f}%")
                         for o in out]))


@app.command("show")
def show_cmd(name: str = typer.Argument(..., help="model name, or a folder holding a model.yaml"),
             json_out: bool = JsonOption) -> None:
    """Print a model's description, preprocessing spec and committed metrics per cohort."""
    spec = models_lib.load_model(name)
    metrics = spec.load_metrics()
    if json_out:
        print_json({"model": spec, "folder": str(spec.folder), "metrics": metrics})
        return
    import yaml

    console.print(f"[bold]{spec.name}[/bold]: {spec.description}  ({spec.folder})")
    console.print(f"labels: {', '.join(spec.labels)}")
    console.print("preprocessing spec:")
    typer.echo(yaml.safe_dump(spec.preprocessing.model_dump(mode="json"), sort_keys=False).rstrip())
    if not metrics:
        console.print("metrics: none committed yet (run `edgekit train --model %s`)" % spec.name)
        return
    console.print(f"float accuracy on the held-out test split: {100 * metrics['accuracy']:.2f}% "
                  f"(n={metrics.get('n')}, trained in {metrics.get('train_seconds', 0):.0f} s, "
                  f"data hash {metrics.get('data_hash', '?')})")
    for field, groups in (metrics.get("per_cohort") or {}).items():
        console.print(table(f"per {field}", [field, "n", "accuracy"],
                            [(k, g["n"], f"{100 * g['accuracy']:.2f}%") for k, g in groups.items()]))
