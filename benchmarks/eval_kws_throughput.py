"""Benchmark: `edgekit eval` on the whole KWS test split on cortex-m4 under QEMU.

    .venv/bin/python benchmarks/eval_kws_throughput.py [--jobs 2] [--limit N]

Prints (and writes benchmarks/eval_kws_results.json) samples per second end to end and where
the wall time goes:
  - emulated compute: the model's instructions / the emulator's measured instruction rate,
  - session start: QEMU boots (each preloaded batch restarts the emulator with its inputs),
  - transfer: outputs and counters over the UART (inputs are preloaded, not sent),
  - host: the build step (up to date: codegen, link, 3 QEMU runs), the reference paths
    (Keras float, LiteRT int8), and the rest (data loading, reports, process start).
The emulator's rate and the per-boot and per-transfer costs are measured on one session
first (a microbenchmark); the split of the batch path is then computed from them, so it is
labelled "estimated"; the totals are measured.
"""

from __future__ import annotations

import argparse
import json
import os
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
    from edgekit.build import build
    from edgekit.harness.evaluate import _firmware_image, evaluate
    from edgekit.harness.records import read_records
    from edgekit.models import load_model
    from edgekit.reportstore import read_report
    from edgekit.targets import load_target

    spec, target = load_model("kws"), load_target("cortex-m4")
    image = _firmware_image(build(spec, target))
    from edgekit import interpreters
    from edgekit.harness.evaluate import _tflite_path

    in_q, _ = interpreters.io_quant(_tflite_path(build(spec, target), resources.stage_dir(target.name, spec.name)))
    in_bytes = 1
    for s in in_q.shape[1:]:
        in_bytes *= s
    m = micro(spec, target, image, in_bytes)

    eval_dir = resources.stage_dir(target.name, spec.name) / "eval"
    shutil.rmtree(eval_dir, ignore_errors=True)  # a cold run: nothing resumed
    t0 = time.perf_counter()
    res = evaluate(spec, target, jobs=args.jobs, limit=args.limit, enforce_gates=False)
    wall = time.perf_counter() - t0
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
    host_ref_s = run["host_reference_s"]
    other_s = max(wall - device_s - build_s - host_ref_s, 0.0)
    out = {
        "samples": n, "jobs": args.jobs, "wall_s_measured": wall, "samples_per_s_measured": n / wall,
        "microbenchmark_one_session": m,
        "device_phase_samples_per_s_measured": n / device_s if device_s else None,
        "share_of_wall_estimated": {
            "emulated_compute": compute_s / wall, "session_start": boot_s / wall,
            "transfer_and_protocol": transfer_s / wall,
            "host_reference_paths": host_ref_s / wall, "build": build_s / wall,
            "host_other": other_s / wall},
        "seconds": {"build_measured": build_s, "host_reference_measured": host_ref_s,
                    "device_phase_per_session_measured": device_s, "emulated_compute_estimated": compute_s,
                    "session_start_estimated": boot_s, "transfer_and_protocol_estimated": transfer_s,
                    "host_other_measured": other_s},
        "accuracy": res.accuracy,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
