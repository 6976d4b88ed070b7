"""Benchmark: edgekit-micro firmware under QEMU, reference vs DSP (and Helium) kernels.

For KWS (DS-CNN) and MobileNetV2-0.35 on cortex-m4 (mps2-an386), cortex-m7 (mps2-an500) and
cortex-m55 (mps3-an547, also with the Helium kernels):
instructions per inference and per MAC (counted by QEMU -icount: instructions, not
cycles), planned peak RAM (edgekit's static arena) vs the tflite-micro interpreter's arena,
flash of the whole firmware vs the int8 .tflite's size, and whether the device's outputs
equal tflite-micro's bit for bit on the inputs run. Firmware without the on-device frontend
(model only). Uses the trained build/<target>/<model>/model_int8.tflite when present (or
one converted for another edgekit-micro target), else an untrained twin of the architecture (benchmarks/untrained_models.py; int8 kernel
instruction counts hardly depend on weight values).

    .venv/bin/python benchmarks/firmware_inference.py [--inferences N] [--out benchmarks/firmware_inference.md]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edgekit import resources  # noqa: E402
from edgekit.build import build  # noqa: E402
from edgekit.errors import CheckFailed  # noqa: E402
from edgekit.interpreters import tflm_arena_bytes  # noqa: E402
from edgekit.models import load_model  # noqa: E402
from edgekit.targets import load_target  # noqa: E402

MODELS = ("kws", "mobilenetv2")
TARGETS = ("cortex-m4", "cortex-m7", "cortex-m55")


def kernel_variants(target) -> list[str]:
    """reference, and every optimized variant the core has the extension for (dsp, mve)."""
    return ["reference"] + [k for k in ("dsp", "mve") if k in target.core.features]


def int8_model(model: str, target: str) -> tuple[Path, str]:
    """The target's own converted model, else one converted for another edgekit-micro target
    (the same int8 conversion), else the untrained twin."""
    trained = resources.stage_dir(target, model) / "model_int8.tflite"
    if trained.is_file():
        return trained, "trained"
    for other in ("cortex-m4", "cortex-m7", "cortex-m4-small", "cortex-m33", "cortex-m55"):
        p = resources.stage_dir(other, model) / "model_int8.tflite"
        if p.is_file():
            return p, f"trained (converted for {other})"
    from untrained_models import untrained_int8

    return untrained_int8(model), "untrained twin"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inferences", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".md"))
    args = ap.parse_args()
    rows = []
    for model in MODELS:
        for target_name in TARGETS:
            tflite, which = int8_model(model, target_name)
            tflm_arena = tflm_arena_bytes(tflite)
            for kernels in kernel_variants(load_target(target_name)):
                out = resources.build_dir() / "bench-firmware" / target_name / model / kernels
                t0 = time.time()
                try:
                    build(load_model(model), load_target(target_name), firmware_variant="none", kernels=kernels,
                          tflite_path=tflite, n_inferences=args.inferences, out_dir=out)
                    budget = "pass"
                except CheckFailed as exc:  # over budget: the report is written before the gate
                    budget = "over: " + ", ".join(r["budget"].split(" (")[0] for r in exc.table if r["result"] == "FAIL")
                b = json.loads((out / "report.json").read_text())["build"]
                rows.append({
                    "model": model, "weights": which, "target": target_name, "kernels": kernels,
                    "instructions": b["instructions_per_inference"]["value"], "macs": b["total_macs"],
                    "per_mac": b["instructions_per_mac"], "planned_arena": b["arena"]["planned_bytes"],
                    "tflm_arena": tflm_arena, "flash": b["flash"]["bytes"], "ram": b["ram"]["bytes"],
                    "tflite_bytes": tflite.stat().st_size, "bit_exact": b["device_matches_tflm"],
                    "latency_ms_estimated": b["latency_ms_estimated"], "budget": budget,
                    "seconds": round(time.time() - t0, 1),
                })
                r = rows[-1]
                print(f"{model:12s} {target_name:10s} {kernels:9s} {r['instructions']:>12,d} instr "
                      f"{r['per_mac']:.3f}/MAC  arena {r['planned_arena']:,} vs TFLM {tflm_arena:,}  "
                      f"flash {r['flash']:,} (tflite {r['tflite_bytes']:,})  exact={r['bit_exact']}  {r['seconds']} s",
                      flush=True)
    md = render(rows, args)
    args.out.write_text(md)
    print(md)
    return 0


def render(rows: list[dict], args) -> str:
    def speedup(r):
        ref = next(x for x in rows if x["model"] == r["model"] and x["target"] == r["target"] and x["kernels"] == "reference")
        return ref["instructions"] / r["instructions"]

    lines = [
        "# Firmware inference benchmark (QEMU, edgekit-micro)",
        "",
        f"Command: `.venv/bin/python benchmarks/firmware_inference.py --inferences {args.inferences}`",
        "",
        "Instructions are counted by QEMU (`-icount`, exact), not cycles: the latency column is an",
        "estimate (instructions x the profile's cpi / clock). Arena: edgekit's statically planned",
        "activation memory vs the tflite-micro interpreter's arena for the same .tflite. Flash: the",
        "whole firmware (app, board support, kernels, weights) measured from the link, beside the",
        "int8 .tflite's size. Exact: device outputs equal tflite-micro's bit for bit on the inputs run.",
        "The mve rows (Helium on the Cortex-M55) count vector instructions like scalar ones; they",
        "take about two cycles each on the M55, so those latency estimates are optimistic.",
        "",
        "| model | weights | target | kernels | instructions / inference | instr / MAC | speed-up vs reference "
        "| planned arena (B) | TFLM arena (B) | flash (B) | .tflite (B) | RAM (B) | latency est. (ms) | exact | budgets |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['weights']} | {r['target']} | {r['kernels']} | {r['instructions']:,} | {r['per_mac']:.3f} "
            f"| {speedup(r):.2f}x | {r['planned_arena']:,} | {r['tflm_arena']:,} | {r['flash']:,} | {r['tflite_bytes']:,} "
            f"| {r['ram']:,} | {r['latency_ms_estimated']:.1f} | {r['bit_exact']} | {r['budget']} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
