"""edgekit monitor ingest|simulate|check: a thin layer over edgekit.monitor.run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgekit.cli._common import JsonOption

app = typer.Typer(help="Drift and silent accuracy decay per device population, from field telemetry.",
                  no_args_is_help=True)

TargetOption = typer.Option("cortex-m4", "--target", "-t", help="target profile: where the store and reference live")
ModelOption = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml")
StoreOption = typer.Option(None, "--store", help="DuckDB store (default build/<target>/<model>/monitor.duckdb)")


def _load(model: str, target: str):
    from edgekit.models import load_model
    from edgekit.targets import load_target

    return load_model(model), load_target(target)


@app.command("ingest")
def ingest_cmd(
    files: list[Path] = typer.Argument(..., help="telemetry files: .jsonl, .csv or .parquet"),
    model: str = ModelOption, target: str = TargetOption, store: Optional[Path] = StoreOption,
    skip_bad: bool = typer.Option(False, "--skip-bad", help="reject and count bad records instead of stopping"),
    json_out: bool = JsonOption,
) -> None:
    """Ingest telemetry files into the store (idempotent; one transaction per file)."""
    from edgekit.cli._common import console, err_console, print_json
    from edgekit.monitor.run import ingest_files

    spec, prof = _load(model, target)
    res = ingest_files(spec, prof.name, files, store, skip_bad=skip_bad)
    if json_out:
        print_json(res)
        return
    for f in res.files:
        if f.skipped_file:
            console.print(f"{f.path}: already ingested (same bytes), nothing added")
        else:
            console.print(f"{f.path}: {f.added} records added, {f.duplicate} already in the store, {f.rejected} rejected")
        for e in f.errors:
            err_console.print(f"  rejected: {e}", markup=False, highlight=False)
    console.print(f"{res.store}: {res.total_rows} records", highlight=False)


@app.command("simulate")
def simulate_cmd(
    model: str = ModelOption, target: str = TargetOption,
    scenario: str = typer.Option(..., "--scenario", "-s", help="scenario name (models/<m>/scenarios/) or .yaml path"),
    devices: Optional[int] = typer.Option(None, help="fleet size (default: the scenario's)"),
    days: Optional[int] = typer.Option(None, help="days simulated (default: the scenario's)"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for the telemetry files"),
    fmt: str = typer.Option("parquet", "--format", help="jsonl, csv or parquet"),
    ingest: bool = typer.Option(False, "--ingest", help="also ingest the files into the store"),
    store: Optional[Path] = StoreOption,
    json_out: bool = JsonOption,
) -> None:
    """Write telemetry of a simulated fleet: test-split samples through the real int8 model."""
    from edgekit.cli._common import console, print_json, progress as progress_bar, stdout_to_stderr, task_reporter
    from edgekit.monitor.run import simulate_scenario, store_path

    spec, prof = _load(model, target)
    into = store_path(prof.name, spec.name, store) if ingest else None
    with stdout_to_stderr(json_out), progress_bar(not json_out) as bar:
        res, ing = simulate_scenario(spec, prof, scenario, devices=devices, days=days, out_dir=out, fmt=fmt,
                                     progress=task_reporter(bar), ingest_into=into)
    if json_out:
        print_json({"simulation": res, "ingest": ing})
        return
    console.print(f"{res.scenario}: {res.devices} devices x {res.days} days = {res.records} records, "
                  f"{res.inferences:,} inferences, {len(res.files)} files in {res.directory}", highlight=False)
    for p, acc in res.paths.items():
        console.print(f"  input path {p}: int8 accuracy on the test split {100 * acc:.2f}% (measured)")
    console.print(f"  truth (not reported by devices): {res.truth}", highlight=False)
    if ing is not None:
        console.print(f"ingested: {ing.added} records added, {ing.duplicate} already there, {ing.rejected} rejected; "
                      f"{ing.store}: {ing.total_rows} records", highlight=False)


@app.command("check")
def check_cmd(
    model: str = ModelOption, target: str = TargetOption, store: Optional[Path] = StoreOption,
    by: str = typer.Option("device_model,firmware", "--by", help="cohort fields, comma-separated"),
    since: Optional[str] = typer.Option(None, "--since", help="only windows from this date/time (ISO 8601)"),
    window_days: int = typer.Option(1, "--window-days", help="days per analysis window"),
    json_out: bool = JsonOption,
) -> None:
    """Per cohort and window: drift, label-free accuracy, change points, skew vs drift. Exit 1 on an alarm."""
    from edgekit.cli._common import console, print_json, progress as progress_bar, stdout_to_stderr, table, task_reporter
    from edgekit.errors import CheckFailed
    from edgekit.monitor.run import check_fleet

    spec, prof = _load(model, target)
    fields = [f.strip() for f in by.split(",") if f.strip()]
    with stdout_to_stderr(json_out), progress_bar(not json_out) as bar:
        res = check_fleet(spec, prof, fields, since, store, window_days, enforce=False, progress=task_reporter(bar))
    if json_out:
        print_json(res)
    else:
        console.print(f"{res.model}: {res.records} telemetry records from {res.origin[:10]}, windows of "
                      f"{res.window_days} day(s); false-alarm rate {100 * res.alpha:g}% per window, alarm after "
                      f"{res.persist} in a row", highlight=False)
        rows = []
        for c in res.cohorts:
            last = c.windows[-1] if c.windows else None
            day = {w.window: w.start[:10] for w in c.windows}
            rows.append([f"{c.field}={c.value}", f"{c.over_windows}/{len(c.windows)}",
                         day.get(c.detected_window, "-"), day.get(c.change_window, "-"),
                         f"{100 * c.reference_accuracy:.1f}%",
                         f"{100 * last.est_accuracy:.1f}% [{100 * last.est_low:.1f}, {100 * last.est_high:.1f}]" if last else "-",
                         c.verdict["kind"] if c.verdict else "ok"])
        console.print(table(None, ["cohort", "windows over", "alarm on", "change point", "reference",
                                   "estimated accuracy, last window", "verdict"], rows))
        for c in res.alarms:
            console.print(f"alarm: {c.field}={c.value}: {c.verdict['message']}", highlight=False)
            if c.verdict.get("confirm"):
                console.print(f"  confirm: {c.verdict['confirm']}", highlight=False)
            if c.verdict.get("recommendation"):
                console.print(f"  recommendation: {c.verdict['recommendation']}", highlight=False)
        console.print(f"wrote section 'monitor' of build/{res.target}/{res.model}/report.json, report.html and junit.xml",
                      highlight=False)
    if res.alarms:
        raise CheckFailed(f"{len(res.alarms)} cohort(s) alarm")
