"""Benchmark: edgekit monitor on the shipped fleet scenarios.

For each scenario: `monitor simulate` (the scenario's fleet: test-split samples through the
real int8 model on the host, per firmware/sensor path), ingest into a fresh store, `monitor
check --by device_model,firmware,region` (daily windows), then, against the simulator's
truth (which devices cannot report):

- cohorts with a changed device-day (a scenario event reached them) vs the others; alarms
  on each; the verdict (skew in a version / world drift) and the scenario's expectation;
- detection delay: the day the cohort alarms minus the day its event started;
- false alarms: on unchanged cohorts, windows over threshold (stated rate 1%) and cohort
  alarms (2 windows in a row);
- the label-free accuracy estimate against the true accuracy per cohort and week, on weeks
  where no device-day of that cohort was changed: largest gap and share within 2 points.

    .venv/bin/python benchmarks/monitor_scenarios.py [--scenarios kws:stationary,...] [--out benchmarks/monitor_scenarios.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

SCENARIOS = ("kws:stationary", "kws:firmware-rollout", "kws:noisier", "kws:mic-wear",
             "mobilenetv2:stationary", "mobilenetv2:seasonal-lighting")
TARGETS = {"kws": "cortex-m4", "mobilenetv2": "cortex-m7"}
BY = ["device_model", "firmware", "region"]


def _event_day(sc) -> int | None:
    days = [getattr(e, "start_day", getattr(e, "from_day", None)) for e in sc.events]
    return min(days) if days else None


def run_one(model: str, name: str, work: Path) -> tuple[list[str], dict]:
    import duckdb

    from edgekit.models import load_model
    from edgekit.monitor import analysis, store as st
    from edgekit.monitor.ingest import ingest
    from edgekit.monitor.reference import reference_set
    from edgekit.monitor.scenario import load_scenario
    from edgekit.monitor.simulate import simulate
    from edgekit.targets import load_target

    spec, target = load_model(model), load_target(TARGETS[model])
    sc = load_scenario(spec, name)
    t0 = time.perf_counter()
    sim = simulate(spec, target, sc, out_dir=work / f"{model}-{name}")
    t_sim = time.perf_counter() - t0
    db = work / f"{model}-{name}.duckdb"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    ingest(sim.files, db, spec)
    t_ing = time.perf_counter() - t0
    ref = reference_set(spec, target, "reference")
    t0 = time.perf_counter()
    with st.open_store(db, create=False) as s:
        res = analysis.check(s, ref, spec, target.name, BY)
        s.con.execute("CREATE TEMP TABLE truth AS SELECT device_id, CAST(window_start AS TIMESTAMPTZ) AS window_start, "
                      "inferences, correct, changed FROM read_json_auto(?)", [str(sim.truth)])
        truth = {}
        for f in BY:
            rows = s.con.execute(
                "SELECT w.cohort[?], CAST(floor(epoch(w.window_start - ?::TIMESTAMPTZ) / 86400) AS INTEGER) AS d, "
                "sum(t.inferences), sum(t.correct), bool_or(t.changed) FROM windows w JOIN truth t "
                "USING (device_id, window_start) GROUP BY 1, 2", [f, res.origin]).fetchall()
            for v, d, n, ok, ch in rows:
                truth[(f, v, d)] = (int(n), int(ok), bool(ch))
    t_chk = time.perf_counter() - t0
    start = _event_day(sc)
    lines = [f"### {model}: {name}", "", sc.description + ".", "",
             f"{sim.devices:,} devices x {sim.days} days = {sim.records:,} records, {sim.inferences:,} inferences; "
             f"simulate {t_sim:.0f} s, ingest {t_ing:.0f} s, check {t_chk:.0f} s (wall, loaded machine). "
             "Input paths (int8 accuracy on the test split, measured): "
             + ", ".join(f"{p} {100 * a:.2f}%" for p, a in sim.paths.items()) + ".", "",
             "| cohort | changed by the scenario | expected | alarm | verdict | detection delay (days) | "
             "windows over threshold | accuracy change, last 14 days vs first 14, true / estimated (points) | "
             "est. vs true accuracy, unchanged weeks: max gap / within 2 points |",
             "|---|---|---|---|---|---:|---:|---|---|"]
    stats = {"false_cohort_alarms": 0, "unchanged_windows": 0, "unchanged_over": 0, "gaps": [], "ok": True}
    for c in res.cohorts:
        key = f"{c.field}={c.value}"
        days = {w.window: w for w in c.windows}
        changed = any(truth.get((c.field, c.value, d), (0, 0, False))[2] for d in days)
        weeks: dict[int, list] = {}
        for d, w in days.items():
            n, ok, ch = truth.get((c.field, c.value, d), (0, 0, True))
            wk = weeks.setdefault(d // 7, [0, 0, 0.0, False])
            wk[0] += n
            wk[1] += ok
            wk[2] += w.est_accuracy * w.inferences
            wk[3] |= ch
        gaps = [abs(e / n - ok / n) * 100 for n, ok, e, ch in weeks.values() if n and not ch]
        last = max(days) if days else 0

        def acc(sel, est=False):
            pick = [d for d in days if sel(d)]
            n = sum(truth.get((c.field, c.value, d), (0, 0, 0))[0] for d in pick)
            if est:
                return sum(days[d].est_accuracy * days[d].inferences for d in pick) / max(n, 1)
            return sum(truth.get((c.field, c.value, d), (0, 0, 0))[1] for d in pick) / max(n, 1)

        early, late = (lambda d: d < 14), (lambda d: d > last - 14)
        change = (f"{100 * (acc(late) - acc(early)):+.1f} / {100 * (acc(late, True) - acc(early, True)):+.1f}"
                  if c.windows and c.windows[0].window == 0 else "-")
        stats["gaps"] += gaps
        if not changed:
            stats["unchanged_windows"] += len(c.windows)
            stats["unchanged_over"] += c.over_windows
            stats["false_cohort_alarms"] += int(c.alarm)
        expected = sc.expect.get(key, "-")
        verdict = (c.verdict or {}).get("kind", "-")
        if c.verdict and c.verdict.get("version"):
            verdict += f" ({c.verdict['field']} {c.verdict['version']})"
        delay = (c.detected_window - start) if (c.alarm and start is not None) else None
        if expected != "-" and (not c.alarm or not verdict.startswith(expected)):
            stats["ok"] = False
        lines.append(f"| {key} | {'yes' if changed else 'no'} | {expected} | {'ALARM' if c.alarm else 'no'} | {verdict} | "
                     f"{'-' if delay is None else delay} | {c.over_windows}/{len(c.windows)} | {change} | "
                     + (f"{max(gaps):.2f} / {100 * np.mean(np.array(gaps) <= 2):.0f}% of {len(gaps)} weeks" if gaps else "-")
                     + " |")
    rate = stats["unchanged_over"] / max(stats["unchanged_windows"], 1)
    lines += ["", f"Unchanged cohorts: {stats['unchanged_over']} of {stats['unchanged_windows']} windows over threshold "
              f"({100 * rate:.2f}%, stated 1%); cohort alarms: {stats['false_cohort_alarms']}. "
              f"Expectations met: {'yes' if stats['ok'] else 'NO'}.", ""]
    for c in res.alarms:
        lines.append(f"- `{c.field}={c.value}`: {c.verdict['message']}")
    lines.append("")
    return lines, stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--work", type=Path, default=Path("build/bench-monitor-scenarios"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    body, all_gaps, summary = [], [], []
    for item in args.scenarios.split(","):
        model, _, name = item.partition(":")
        lines, st = run_one(model, name, args.work)
        print("\n".join(lines), flush=True)
        body += lines
        all_gaps += st["gaps"]
        summary.append(f"| {model}: {name} | {'yes' if st['ok'] else 'NO'} | {st['false_cohort_alarms']} | "
                       f"{st['unchanged_over']}/{st['unchanged_windows']} |")
    g = np.array(all_gaps)
    head = ["# edgekit monitor: the shipped scenarios", "",
            f"Command: `.venv/bin/python benchmarks/monitor_scenarios.py --scenarios {args.scenarios}`", "",
            "Each scenario: simulate, ingest, `check --by device_model,firmware,region` with daily windows; "
            "a window is over threshold at a stated false-alarm rate of 1%, a cohort alarms after 2 in a row. "
            "Truth (true accuracy, which device-days an event changed) comes from the simulator. The "
            "label-free estimate is checked per cohort and week on weeks no event touched: "
            f"largest gap {g.max():.2f} points, {100 * np.mean(g <= 2):.1f}% of {g.size} cohort-weeks within 2 points."
            if g.size else "", "",
            "| scenario | expectations met | false cohort alarms | unchanged windows over threshold |",
            "|---|---|---:|---:|", *summary, ""]
    text = "\n".join(head + body)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
