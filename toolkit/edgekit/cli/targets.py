"""edgekit targets list|show"""

from __future__ import annotations

import typer

from edgekit import targets as targets_lib
from edgekit.cli._common import JsonOption, console, print_json, table
from edgekit.runtimes import backend_for


def _load(name: str):
    """The profile, checked against its runtime backend too (an NPU runtime needs its npu)."""
    profile = targets_lib.load_target(name)
    backend_for(profile)
    return profile

app = typer.Typer(help="List and inspect target profiles (targets/*.yaml).", no_args_is_help=True)


@app.command("list")
def list_cmd(json_out: bool = JsonOption) -> None:
    """List the target profiles with their runtime and budgets."""
    profiles = [_load(n) for n in targets_lib.list_targets()]
    if json_out:
        print_json([{"name": p.name, "description": p.description, "runtime": p.runtime.name,
                     "budgets": p.budgets} for p in profiles])
        return
    rows = [
        (p.name, p.runtime.name, f"{p.clock_mhz:g}", f"{p.budgets.flash_kb:g}", f"{p.budgets.ram_kb:g}",
         f"{p.budgets.latency_p99_ms:g}", f"{p.budgets.energy_per_inference_uj:g}",
         f"{p.budgets.average_power_mw:g} @ {p.budgets.inference_rate_hz:g} Hz")
        for p in profiles
    ]
    console.print(table("target profiles (budgets for the model and its runtime)",
                        ["target", "runtime", "MHz", "flash KB", "RAM KB", "p99 ms", "uJ/inference", "avg mW"],
                        rows))


@app.command("show")
def show_cmd(name: str = typer.Argument(..., help="target name, or a path to a profile .yaml"),
             json_out: bool = JsonOption) -> None:
    """Print a target profile with its inheritance resolved."""
    profile = _load(name)
    if json_out:
        print_json(profile)
        return
    import yaml

    typer.echo(yaml.safe_dump(profile.model_dump(mode="json", exclude_none=True), sort_keys=False).rstrip())
