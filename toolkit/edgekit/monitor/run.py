"""The monitor stage's entry points, what `edgekit monitor ...` calls (docs/ARCHITECTURE.md,
monitor): ingest files, simulate a scenario, check the fleet and write the report section."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from edgekit import resources
from edgekit.errors import CheckFailed, UserError
from edgekit.monitor import analysis, report as monitor_report, store as st
from edgekit.monitor.ingest import IngestResult, ingest, model_shape
from edgekit.monitor.reference import reference_set
from edgekit.monitor.scenario import load_scenario
from edgekit.monitor.simulate import SimulationResult, simulate

DEFAULT_BY = ("device_model", "firmware")


def store_path(target_name: str, model_name: str, store: Optional[Path]) -> Path:
    return Path(store) if store else st.default_store_path(target_name, model_name)


def ingest_files(spec, target_name: str, files: Sequence[Path], store: Optional[Path] = None,
                 skip_bad: bool = False) -> IngestResult:
    if not files:
        raise UserError("no telemetry files given: edgekit monitor ingest FILES... (JSONL, CSV or Parquet)")
    return ingest(files, store_path(target_name, spec.name, store), spec, skip_bad=skip_bad)


def simulate_scenario(spec, target, scenario: str, devices: Optional[int] = None, days: Optional[int] = None,
                      out_dir: Optional[Path] = None, fmt: str = "parquet", progress=None,
                      ingest_into: Optional[Path] = None) -> tuple[SimulationResult, Optional[IngestResult]]:
    """Simulate; with ingest_into (a store path), also ingest the files written."""
    sim = simulate(spec, target, load_scenario(spec, scenario), devices=devices, days=days, out_dir=out_dir,
                   fmt=fmt, progress=progress)
    ing = ingest(sim.files, ingest_into, spec) if ingest_into is not None else None
    return sim, ing


def rollouts(store: st.TelemetryStore, since: Optional[datetime]) -> list[dict]:
    """Version values that appeared after the first window (markers in the plots)."""
    lo = since or datetime(2000, 1, 1, tzinfo=timezone.utc)
    out = []
    for vf in analysis.VERSION_FIELDS:
        rows = store.con.execute("SELECT cohort[?], min(window_start) FROM windows WHERE window_start >= ? AND "
                                 "cohort[?] IS NOT NULL GROUP BY 1 ORDER BY 2", [vf, lo, vf]).fetchall()
        for v, t in rows[1:]:
            if t > rows[0][1]:
                out.append({"field": vf, "value": v, "first_seen": analysis._iso(t)})
    return out


def check_fleet(spec, target, by: Sequence[str] = DEFAULT_BY, since: Optional[str] = None,
                store: Optional[Path] = None, window_days: int = 1, enforce: bool = True,
                progress=None) -> analysis.MonitorCheck:
    """Check the store's telemetry (see edgekit.monitor.analysis); writes the `monitor`
    section of build/<target>/<model>/report.json, report.html and junit.xml; CheckFailed
    (exit 1) when a cohort alarms and `enforce`."""
    from edgekit.monitor.telemetry import parse_time
    from edgekit.report import write_reports
    from edgekit.reportstore import write_section

    since_t = parse_time(since, "--since") if since else None
    path = store_path(target.name, spec.name, store)
    classes, features = model_shape(spec)
    ref = reference_set(spec, target, "reference", progress=progress)
    with st.open_store(path, spec.name, classes, features, create=False, read_only=True) as s:
        res = analysis.check(s, ref, spec, target.name, list(by), since=since_t, window_days=window_days)
        marks = rollouts(s, since_t)
    directory = resources.stage_dir(target.name, spec.name)
    directory.mkdir(parents=True, exist_ok=True)
    write_section(directory, "monitor", monitor_report.section(res, marks))
    write_reports(directory)
    if enforce and res.alarms:
        raise CheckFailed(f"{len(res.alarms)} cohort(s) alarm: " + "; ".join(
            f"{c.field}={c.value} ({c.verdict['kind']})" for c in res.alarms))
    return res
