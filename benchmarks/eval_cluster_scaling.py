"""Benchmark: `edgekit eval` on a Ray cluster: samples per second against the number of Ray
worker processes (one QEMU each) and nodes, with the scaling efficiency.

    .venv/bin/python benchmarks/eval_cluster_scaling.py [--limit 96] [--configs 1x1,1x2,2x1]

Each configuration NxC is a real Ray cluster on this machine (ray.cluster_utils.Cluster, all
on 127.0.0.1): a head without CPUs and N worker nodes of C CPUs each, so N*C QEMU instances
run at once. Every run evaluates the same KWS test samples on cortex-m4 from no records
(the firmware is built once, before the first run). The figure is the device phase: the
samples divided by the time from the first batch handed out to the last one recorded (the
host reference paths, the build and Ray's start are left out; Ray's start is shown apart).
Efficiency = (samples/s with W workers) / (W x samples/s with 1 worker). On a machine with
fewer cores than workers the efficiency falls by construction; the table shows the cores.
Writes benchmarks/eval_cluster_scaling.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path


def run_config(nodes: int, cpus: int, spec, target, limit: int) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    from edgekit import resources
    from edgekit.harness.cluster import RayCluster, stay_on_loopback
    from edgekit.harness.evaluate import evaluate
    from edgekit.reportstore import read_report

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    stay_on_loopback()
    loop = {"node_ip_address": "127.0.0.1", "include_dashboard": False}
    t0 = time.perf_counter()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **loop})
    for _ in range(nodes):
        c.add_node(num_cpus=cpus, **loop)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    start_s = time.perf_counter() - t0
    try:
        shutil.rmtree(resources.stage_dir(target.name, spec.name) / "eval", ignore_errors=True)
        with RayCluster(c.address) as cl:
            res = evaluate(spec, target, limit=limit, enforce_gates=False, cluster=cl)
        run = read_report(res.directory)["eval_run"]
    finally:
        ray.shutdown()
        c.shutdown()
    queue_s = run["cluster"]["queue_s"]
    return {"nodes": nodes, "cpus_per_node": cpus, "workers": nodes * cpus, "samples": run["new"],
            "harness_s": queue_s, "samples_per_s": run["new"] / queue_s, "ray_start_s": start_s,
            "build_s": run["build_s"], "requeued": run["cluster"]["requeued_batches"],
            "batches_by_node": run["cluster"]["batches_by_node"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=96)
    ap.add_argument("--configs", default="1x1,1x2,2x1", help="NODESxCPUS, comma-separated")
    args = ap.parse_args(argv)

    from edgekit import data, resources
    from edgekit.harness.build_cache import build_for_eval
    from edgekit.models import load_model
    from edgekit.targets import load_target

    spec, target = load_model("kws"), load_target("cortex-m4")
    # once, so that no configuration pays for it (each evaluation reuses it)
    build_for_eval(spec, target, None, resources.stage_dir(target.name, spec.name),
                   extra=data.load_dataset(spec).data_hash)
    import keras  # noqa: F401  (TensorFlow's import would otherwise fall on the first configuration)

    rows = []
    for cfg in args.configs.split(","):
        n, c = (int(v) for v in cfg.lower().split("x"))
        load = os.getloadavg()[0]
        r = run_config(n, c, spec, target, args.limit)
        r["load_average_1min"] = load
        rows.append(r)
        print(r, flush=True)
    base = next((r["samples_per_s"] for r in rows if r["workers"] == 1), rows[0]["samples_per_s"] / rows[0]["workers"])
    lines = ["# edgekit eval on a Ray cluster: scaling", "",
             "```", "python benchmarks/eval_cluster_scaling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
             "```", "",
             f"KWS test samples on cortex-m4 under QEMU, {args.limit} per run, on a machine with "
             f"{os.cpu_count()} cores; every node on 127.0.0.1 (ray.cluster_utils.Cluster).", "",
             "| nodes x CPUs | Ray workers (QEMU at once) | samples/s (measured) | efficiency | "
             "device phase s (measured) | Ray start s | load avg (1 min) before | batches per node |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        eff = r["samples_per_s"] / (r["workers"] * base)
        per_node = ", ".join(str(v) for v in r["batches_by_node"].values())
        lines.append(f"| {r['nodes']} x {r['cpus_per_node']} | {r['workers']} | {r['samples_per_s']:.1f} | "
                     f"{100 * eff:.0f}% | {r['harness_s']:.1f} | {r['ray_start_s']:.1f} | "
                     f"{r['load_average_1min']:.1f} | {per_node} |")
    lines += ["", "samples/s: the device phase, from the first batch handed out to the last one back (the "
              "host reference paths, the build and Ray's start are excluded); efficiency: against W x the 1-worker rate. A load average above the core count "
              "means other work shared the cores, so the figures are lower than on a quiet machine.", ""]
    Path(__file__).with_name("eval_cluster_scaling.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
