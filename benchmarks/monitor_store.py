"""Benchmark: the edgekit monitor store at fleet scale: ingest and query N telemetry rows.

Synthetic KWS-shaped telemetry (12 classes, 10 input features: the record edgekit monitor
takes for the kws model) for a fleet of devices over days, written as Parquet files of
--rows-per-file rows, then measured (wall clock, on this machine, with whatever else runs):

- ingest of every file into a new DuckDB store (validation, record keys, one transaction
  per file); the same files again (skipped by their hash); one file's records in new bytes
  (shuffled: every record a duplicate, found by its key);
- the check's aggregation (per cohort value and day), a device's history (a bound
  parameter), and the whole `edgekit monitor check` (real KWS reference, --by
  device_model,firmware) over the store.

    .venv/bin/python benchmarks/monitor_store.py [--rows 10000000] [--out benchmarks/monitor_store.md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np


def write_files(out: Path, rows: int, per_file: int, seed: int = 0) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    devices = max(rows // 100, 1)
    p_class = rng.dirichlet(np.ones(12) * 4)
    p_conf = np.r_[np.zeros(3), np.linspace(0.2, 1, 12), 8.0]
    p_conf /= p_conf.sum()
    files = []
    done = 0
    k = 0
    while done < rows:
        n = min(per_file, rows - done)
        idx = np.arange(done, done + n)
        dev, day = idx % devices, idx // devices
        inf = rng.poisson(40, n)
        ch = rng.multinomial(inf, p_class)
        cb = rng.multinomial(inf, p_conf)
        fm = rng.normal(-20, 3, (n, 10)).round(4)
        fv = rng.normal(400, 20, (n, 10)).clip(0).round(4)
        start = np.datetime64("2026-01-05T00:00:00") + day.astype("timedelta64[D]")
        ws = np.char.add(np.datetime_as_string(start, unit="s"), "Z")
        we = np.char.add(np.datetime_as_string(start + np.timedelta64(1, "D"), unit="s"), "Z")

        def lists(a, typ):
            return pa.ListArray.from_arrays(pa.array(np.arange(0, a.size + 1, a.shape[1], dtype=np.int32)),
                                            pa.array(a.ravel(), typ))

        dm = np.array(["dm-a", "dm-b", "dm-c"])[dev % 3]
        table = pa.table({
            "schema": pa.array(np.ones(n, np.int64)), "device_id": pa.array(np.char.add("kws-", dev.astype(str))),
            "model": pa.array(["kws"] * n), "window_start": pa.array(ws), "window_end": pa.array(we),
            "cohort.device_model": pa.array(dm), "cohort.firmware": pa.array(np.where(dev % 7 == 0, "v2", "v1")),
            "cohort.region": pa.array(np.array(["eu", "us", "apac"])[(dev // 3) % 3]),
            "cohort.mic": pa.array(np.array(["flat", "telephone", "mems"])[dev % 3]),
            "inferences": pa.array(inf.astype(np.int64)), "class_hist": lists(ch, pa.int64()),
            "conf_hist": lists(cb, pa.int64()), "feature_mean": lists(fm, pa.float64()),
            "feature_var": lists(fv, pa.float64()),
            "labelled": pa.array(np.where(idx % 10 == 0, "3:3 5:4", ""))})
        path = out / f"telemetry-{k:03d}.parquet"
        pq.write_table(table, path)
        files.append(path)
        done += n
        k += 1
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--rows-per-file", type=int, default=500_000)
    ap.add_argument("--work", type=Path, default=Path("build/bench-monitor-store"))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--reuse-files", action="store_true", help="reuse the Parquet files an earlier run left in --work")
    args = ap.parse_args(argv)

    from edgekit.models import load_model
    from edgekit.monitor import analysis, store as st
    from edgekit.monitor.ingest import ingest, model_shape
    from edgekit.monitor.reference import reference_set
    from edgekit.targets import load_target

    spec, target = load_model("kws"), load_target("cortex-m4")
    data_dir = args.work / "files"
    need = -(-args.rows // args.rows_per_file)
    have = sorted(data_dir.glob("telemetry-*.parquet")) if args.reuse_files else []
    t = time.perf_counter()
    if len(have) >= need and args.rows % args.rows_per_file == 0:
        files = have[:need]   # written by an earlier run with the same --rows-per-file (deterministic)
    else:
        shutil.rmtree(args.work, ignore_errors=True)
        data_dir.mkdir(parents=True)
        files = write_files(data_dir, args.rows, args.rows_per_file)
    t_gen = time.perf_counter() - t
    db = args.work / "monitor.duckdb"
    db.unlink(missing_ok=True)
    for wal in args.work.glob("monitor.duckdb.wal"):
        wal.unlink()
    rows = []

    def timed(name, fn, n=None):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        rows.append((name, dt, n))
        print(f"{name}: {dt:.2f} s" + (f" ({n / dt:,.0f} rows/s)" if n else ""), flush=True)
        return out

    res = timed(f"ingest {args.rows:,} rows ({len(files)} Parquet files)", lambda: ingest(files, db, spec), args.rows)
    assert res.added == args.rows and res.rejected == 0, (res.added, res.rejected)
    again = timed("ingest the same files again (skipped by file hash)", lambda: ingest(files, db, spec))
    assert again.added == 0
    import pyarrow.parquet as pq

    shuffled = data_dir / "shuffled.parquet"
    tab = pq.read_table(files[0])
    pq.write_table(tab.take(np.random.default_rng(1).permutation(tab.num_rows)), shuffled)
    dup = timed(f"ingest {tab.num_rows:,} records already stored, in new bytes", lambda: ingest([shuffled], db, spec),
                tab.num_rows)
    assert dup.added == 0 and dup.duplicate == tab.num_rows
    classes, features = model_shape(spec)
    with st.open_store(db, spec.name, classes, features, create=False, read_only=True) as s:
        origin = s.con.execute("SELECT min(window_start) FROM windows").fetchone()[0]
        agg = timed("query: per device_model and day (the check's aggregation)",
                    lambda: analysis.aggregate(s, ["device_model"], None, origin, 1), args.rows)
        timed("query: one device's history (bound parameter)", lambda: s.con.execute(
            "SELECT window_start, inferences FROM windows WHERE device_id = ? ORDER BY 1", ["kws-42"]).fetchall())
        ref = reference_set(spec, target, "reference")
        chk = timed("edgekit monitor check --by device_model,firmware (whole store)",
                    lambda: analysis.check(s, ref, spec, target.name, ["device_model", "firmware"]), args.rows)
        n_stored = s.count()
        n_dev, n_days = s.con.execute("SELECT count(DISTINCT device_id), count(DISTINCT window_start) FROM windows").fetchone()
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob("monitor.duckdb.wal"))
    lines = ["# edgekit monitor: telemetry store at fleet scale", "",
             f"Command: `.venv/bin/python benchmarks/monitor_store.py --rows {args.rows}`", "",
             f"{args.rows:,} synthetic KWS telemetry records (12 classes, 10 features, {n_dev:,} "
             f"devices x {n_days} days, 4 cohort fields, labelled samples on 10%) in {len(files)} Parquet files of "
             f"{args.rows_per_file:,} rows (written in {t_gen:.0f} s). Measured wall-clock on this 2-core machine "
             "while other jobs ran (so inflated); DuckDB " + __import__("duckdb").__version__ + ".", "",
             "| step | seconds | rows/s |", "|---|---:|---:|"]
    lines += [f"| {name} | {dt:.2f} | {'' if n is None else f'{n / dt:,.0f}'} |" for name, dt, n in rows]
    lines += ["", f"Store: {n_stored:,} records, {size / 2**20:,.0f} MiB on disk "
              f"({size / max(n_stored, 1):.0f} B per record); the aggregation returned {len(agg):,} groups; "
              f"the check found {len(chk.alarms)} alarm(s) over {len(chk.cohorts)} cohorts "
              "(the synthetic fleet is not drawn from the KWS reference, so alarms are expected and not the point here).",
              ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)
    if os.environ.get("EDGEKIT_BENCH_KEEP") != "1":
        shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
