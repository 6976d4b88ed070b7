"""Benchmark: `edgekit eval` on the whole KWS test split on cortex-m4 under QEMU.

    .venv/bin/python benchmarks/eval_kws_throughput.py [--jobs 2] [--limit N]

Prints (and writes benchmarks/eval_kws_results.json and eval_kws_throughput.md) samples per
second end to end, the CPU time per sample (user+sys of this process and of the QEMU
instances it ran, measured with getrusage: the figure that does not depend on what else the
machine runs), the load average it ran under, and where the wall time goes:
  - emulated compute: the model's instructions / the emulator's measured instruction rate,
  - session start: QEMU boots (each preloaded batch restarts the emulator with its inputs),
  - transfer: outputs and counters over the UART (inputs are preloaded, not sent),
  - host: the build step (up to date: codegen, link, 3 QEMU runs), and the rest (data
    loading, reports, and what the device phase waited for the host). The reference paths
    (Keras float, LiteRT int8) run in a thread beside the device sessions; their own time is
    shown apart, not as a share of the wall.
Two timed runs: the first with no host reference kept (they are computed), the second
reading them back (harness/host_cache.py), as any later eval of the same model and data.
The emulator's rate and the per-boot and per-transfer costs are measured on one session
first (a microbenchmark); the split of the batch path is then computed from them, so it is
labelled "estimated"; the totals are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path


def micro(spec, target, image, in_bytes: int, reps: int = 5) -> dict:
    """One session: boot, input transfer over the UART, invoke, with wall times."""
    from edgekit.devices import open_device

    boots, loads, invokes, counts = [], [], [], []
    with open_device("qemu", target, image) as dev:
        dev.info()
        payload = bytes(in_bytes)
        for _ in range(reps):
            t = time.perf_counter(); dev.restart(); boots.append(time.perf_counter() - t)
            dev.info()
            t = time.perf_counter(); dev.load(payload, "features"); loads.append(time.perf_counter() - t)
            t = time.perf_counter(); r = dev.invoke("features"); invokes.append(time.perf_counter() - t)
            counts.append(r.model_count)
        t = time.perf_counter()
        for _ in range(reps):
            dev.ping(b"x" * 16)
        rtt = (time.perf_counter() - t) / reps
    inv = statistics.median(invokes)
    # invoke = emulated compute + two request/response round trips (invoke, read output)
    compute = max(inv - 2 * rtt, 1e-6)
    return {"boot_s": statistics.median(boots), "load_features_s": statistics.median(loads),
            "invoke_s": inv, "round_trip_s": rtt, "instructions_per_inference": statistics.median(counts),
            "emulated_instructions_per_s": statistics.median(counts) / compute}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", default=str(Path(__file__).with_name("eval_kws_results.json")))
    args = ap.parse_args(argv)

    from edgekit import resources
    from edgekit import data
    from edgekit.harness.build_cache import build_for_eval
    from edgekit.harness.evaluate import _firmware_image
    from edgekit.harness.host_cache import CACHE_DIR as HOST_CACHE_DIR
    from edgekit.models import load_model
    from edgekit.targets import load_target

    spec, target = load_model("kws"), load_target("cortex-m4")
    # An up-to-date build, as after any earlier build or eval of these inputs: the eval below
    # then reuses it (harness/build_cache.py), and eval_run.build_reused says whether it did.
    built, _ = build_for_eval(spec, target, None, resources.stage_dir(target.name, spec.name),
                              extra=data.load_dataset(spec).data_hash)
    image = _firmware_image(built)
    from edgekit import interpreters
    from edgekit.harness.evaluate import _tflite_path

    in_q, _ = interpreters.io_quant(_tflite_path(built, resources.stage_dir(target.name, spec.name)))
    in_bytes = 1
    for s in in_q.shape[1:]:
        in_bytes *= s
    m = micro(spec, target, image, in_bytes)

    directory = resources.stage_dir(target.name, spec.name)
    runs = {}
    for mode in ("computed", "reused"):
        if mode == "computed":  # the first eval of this model and data: no host reference kept
            shutil.rmtree(directory / HOST_CACHE_DIR, ignore_errors=True)
        runs[mode] = timed_run(spec, target, directory, args.jobs, args.limit, m)
    out = {"samples": runs["reused"]["samples"], "jobs": args.jobs,
           "samples_per_s_end_to_end_measured": runs["reused"]["samples_per_s_measured"],
           "samples_per_s_end_to_end_host_reference_computed_measured": runs["computed"]["samples_per_s_measured"],
           "microbenchmark_one_session": m, "runs": runs}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    md = _write_markdown(out, argv if argv is not None else sys.argv[1:])
    print(md)
    print(f"samples/s end to end (measured): {out['samples_per_s_end_to_end_measured']:.1f} "
          f"(host references reused), {out['samples_per_s_end_to_end_host_reference_computed_measured']:.1f} "
          f"(computed); full figures in {args.out}")
    return 0


def timed_run(spec, target, directory, jobs, limit, m) -> dict:
    """One cold `edgekit eval` (no records to resume) with its CPU time and where the wall goes."""
    from edgekit.harness.evaluate import evaluate
    from edgekit.harness.records import read_records
    from edgekit.reportstore import read_report

    shutil.rmtree(directory / "eval", ignore_errors=True)  # a cold run: nothing resumed
    load_before = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = evaluate(spec, target, jobs=jobs, limit=limit, enforce_gates=False)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_self = (ru1[0].ru_utime + ru1[0].ru_stime) - (ru0[0].ru_utime + ru0[0].ru_stime)
    cpu_children = (ru1[1].ru_utime + ru1[1].ru_stime) - (ru0[1].ru_utime + ru0[1].ru_stime)
    run = read_report(res.directory)["eval_run"]
    recs = read_records(res.records)
    n = len(recs)
    # every device inference of the run: features path and (with a frontend) end-to-end path
    instr = sum(p.get("model_count", 0) + p.get("frontend_count", 0) for r in recs
                for name, p in r["paths"].items() if name.startswith("device") and p.get("status") == "ok")
    sessions = max(1, run["sessions"])
    # Device-side figures are summed over parallel sessions; divide by the sessions to get
    # their share of the wall clock.
    compute_s = instr / m["emulated_instructions_per_s"] / sessions
    # each preloaded batch boots the emulator once (more if a batch exceeds the preload area)
    boot_s = run["device_batches"] * m["boot_s"] / sessions
    device_s = run["device_call_s"] / sessions
    transfer_s = max(device_s - compute_s - boot_s, 0.0)
    build_s = run["build_s"]
    # the host reference paths run in a thread beside the device sessions: not added to the wall
    host_ref_s = run["host_reference_s"]
    other_s = max(wall - device_s - build_s, 0.0)
    cores = jobs or os.cpu_count() or 1
    return {
        "samples": n, "build_reused": run.get("build_reused"),
        "host_reference_reused": run.get("host_reference_reused"),
        "host_reference_computed": run.get("host_reference_computed"),
        "wall_s_measured": wall, "samples_per_s_measured": n / wall,
        "load_average_1min_at_start": load_before, "load_average_1min_at_end": os.getloadavg()[0],
        "cpu_s_measured": {"driver": cpu_self, "qemu_and_other_children": cpu_children,
                           "per_sample": (cpu_self + cpu_children) / n},
        # all of the run's CPU time spread over `cores` otherwise idle cores: what the same run
        # would reach on a quiet machine if nothing serialized it (an upper bound, estimated)
        "samples_per_s_on_idle_cores_estimated": cores * n / (cpu_self + cpu_children),
        "device_phase_samples_per_s_measured": n / device_s if device_s else None,
        "share_of_wall_estimated": {
            "emulated_compute": compute_s / wall, "session_start": boot_s / wall,
            "transfer_and_protocol": transfer_s / wall, "build": build_s / wall,
            "host_other": other_s / wall},
        "seconds": {"build_measured": build_s, "host_reference_beside_the_device_measured": host_ref_s,
                    "device_phase_per_session_measured": device_s, "emulated_compute_estimated": compute_s,
                    "session_start_estimated": boot_s, "transfer_and_protocol_estimated": transfer_s,
                    "host_other_measured": other_s},
        "accuracy": res.accuracy,
    }


def _write_markdown(out: dict, argv) -> str:
    def rows_of(r: dict) -> list[tuple[str, str]]:
        c = r["cpu_s_measured"]
        rows = [("wall, build included (measured)", f"{r['wall_s_measured']:.1f} s"),
                ("the build: reused while up to date (harness/build_cache.py)", f"{r['build_reused']}"),
                ("host reference paths: samples reused / computed (harness/host_cache.py)",
                 f"{r['host_reference_reused']} / {r['host_reference_computed']}"),
                ("**samples/s end to end (measured)**", f"**{r['samples_per_s_measured']:.1f}**"),
                ("load average (1 min) at start / end", f"{r['load_average_1min_at_start']:.1f} / "
                                                        f"{r['load_average_1min_at_end']:.1f}"),
                ("CPU, driver process (measured)", f"{c['driver']:.1f} s"),
                ("CPU, QEMU instances (measured)", f"{c['qemu_and_other_children']:.1f} s"),
                ("CPU per sample (measured)", f"{1000 * c['per_sample']:.1f} ms"),
                ("samples/s if that CPU had the cores to itself (estimated)",
                 f"{r['samples_per_s_on_idle_cores_estimated']:.1f}"),
                ("host reference paths, beside the device sessions (measured)",
                 f"{r['seconds']['host_reference_beside_the_device_measured']:.1f} s")]
        rows += [(f"share of wall: {k.replace('_', ' ')} (estimated)", f"{100 * v:.1f}%")
                 for k, v in r["share_of_wall_estimated"].items()]
        return rows

    runs = out["runs"]
    head = [("samples", f"{out['samples']}"), ("QEMU sessions (--jobs)", f"{out['jobs']}")]
    table = ["| figure | host references computed (first eval) | reused (a later eval) |", "|---|---|---|"]
    table += [f"| {k} | {v} | |" for k, v in head]
    table += [f"| {a[0]} | {a[1]} | {b[1]} |" for a, b in zip(rows_of(runs["computed"]), rows_of(runs["reused"]))]
    text = ["# edgekit eval: KWS test split on cortex-m4 under QEMU", "",
            "```", "python benchmarks/eval_kws_throughput.py " + " ".join(argv), "```", "",
            "Two cold runs (no records to resume, the build up to date): the first with no host",
            "reference kept (Keras and LiteRT run, beside the device sessions), the second reading",
            "them back (same model, weights and data: what a rerun on a new firmware does).", ""] + table + [
            "", "A load average above the number of cores means other work shared them: the wall-clock",
            "figures are then inflated, the CPU figures much less so.", ""]
    md = "\n".join(text)
    Path(__file__).with_name("eval_kws_throughput.md").write_text(md)
    return md


if __name__ == "__main__":
    sys.exit(main())
