"""Kernel benchmark: instructions per inference and per MAC, reference vs DSP kernels, under
QEMU; planned arena vs TFLM's arena; flash vs int8 model size.

    .venv/bin/python benchmarks/kernels_bench.py --models kws mobilenetv2 \
        --targets cortex-m4 cortex-m7 --samples 3 --out benchmarks/kernels_results.md

Models: --tflite MODEL=PATH, else build/<target>/<model>/model_int8.tflite when `edgekit
convert` has made it, else build/_untrained/<model>_int8.tflite (the reference architecture
with untrained weights, int8-quantized), labelled as such in the table: instruction counts
depend on the layer shapes, not on the weight values.

Every run is also checked bit for bit against the tflite-micro interpreter on the same inputs.
Counts are "instructions (emulated)" (QEMU -icount), not cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "toolkit"))

from edgekit import resources  # noqa: E402


def _find_model(model: str, target: str, overrides: dict[str, str]) -> tuple[Path, str]:
    if model in overrides:
        return Path(overrides[model]), f"given ({overrides[model]})"
    converted = resources.stage_dir(target, model) / "model_int8.tflite"
    if converted.is_file():
        return converted, f"edgekit convert ({converted})"
    untrained = resources.build_dir() / "_untrained" / f"{model}_int8.tflite"
    if untrained.is_file():
        return untrained, "untrained weights, reference architecture (build/_untrained)"
    raise SystemExit(f"no int8 model for {model}: run `edgekit convert --model {model} --target "
                     f"{target}` or pass --tflite {model}=PATH")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["kws", "mobilenetv2"])
    ap.add_argument("--targets", nargs="+", default=["cortex-m4", "cortex-m7"])
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--profile", action="store_true",
                    help="also count instructions per op (separate profiled runs, first sample)")
    ap.add_argument("--tflite", nargs="*", default=[], metavar="MODEL=PATH",
                    help="use this .tflite for MODEL instead of the converted one")
    args = ap.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.tflite)

    from edgekit.codegen import generate
    from edgekit.codegen.selftest import run_batch, tflm_arena_search
    from edgekit.interpreters import io_quant, run_tflm, tflm_arena_bytes
    from edgekit.targets import load_target

    rows = []
    work = resources.build_dir() / "bench-kernels"
    for model in args.models:
        for tname in args.targets:
            target = load_target(tname)
            path, origin = _find_model(model, tname, overrides)
            gen = generate(path, work / tname / model / "gen", model)
            iq, oq = io_quant(path)
            x = iq.quantize(np.random.default_rng(1).normal(0, 1, (args.samples, *iq.shape[1:])))
            gold = run_tflm(path, x)
            t0 = time.time()
            try:
                tflm_arena = tflm_arena_bytes(path)
            except Exception as exc:  # it can crash on some models: measure with our own probe
                print(f"tflm_arena_bytes failed ({exc}); bisecting with selftest.tflm_arena_search",
                      file=sys.stderr)
                tflm_arena = tflm_arena_search(path)
            row = {"model": model, "target": tname, "origin": origin,
                   "macs": gen.total_macs, "arena_planned_bytes": gen.arena_bytes,
                   "tflm_arena_bytes (measured, smallest working)": tflm_arena,
                   "weights_bytes": gen.weights_bytes, "tflite_bytes": path.stat().st_size}
            for kernels in ("reference", "dsp"):
                r = run_batch(gen, target, x, kernels, work / tname / model / kernels, gold.dtype,
                              timeout_s=3600)
                exact = bool(np.array_equal(r.outputs, gold))
                ins = int(np.mean(r.instructions))
                row[f"{kernels}_instructions"] = ins
                row[f"{kernels}_instructions_per_mac"] = round(ins / max(gen.total_macs, 1), 2)
                row[f"{kernels}_bit_exact_vs_tflm"] = exact
                row[f"{kernels}_flash_bytes"] = r.flash_bytes
                row["unit"] = r.unit
            row["speedup_reference_over_dsp"] = round(row["reference_instructions"] / row["dsp_instructions"], 2)
            if args.profile:
                per_op = {}
                for kernels in ("reference", "dsp"):
                    r = run_batch(gen, target, x[:1], kernels, work / tname / model / f"{kernels}-prof",
                                  gold.dtype, timeout_s=3600, profile=True)
                    per_op[kernels] = r.op_instructions
                row["per_op"] = [{"index": o.index, "op": o.op, "macs": o.macs,
                                  "output_shape": o.output_shape,
                                  "reference_instructions": per_op["reference"][i],
                                  "dsp_instructions": per_op["dsp"][i]}
                                 for i, o in enumerate(gen.ops)]
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        _write_table(args, rows)
    return 0


def _write_table(args, rows: list[dict]) -> None:
    cmd = "nice -n 10 .venv/bin/python benchmarks/kernels_bench.py " + " ".join(
        ["--models", *args.models, "--targets", *args.targets, "--samples", str(args.samples),
         "--out", str(args.out)] + (["--profile"] if args.profile else [])
        + (["--tflite", *args.tflite] if args.tflite else []))
    lines = ["# edgekit-micro kernels: reference vs DSP under QEMU", "",
             f"Made by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             "Instructions are counted by QEMU (-icount): instructions (emulated), not cycles; "
             "mean over the samples. Arena: planned by edgekit.codegen vs the smallest arena "
             "with which the tflite-micro interpreter allocates and runs (measured). "
             "Bit-exact: firmware outputs equal the tflite-micro interpreter's on the same inputs.", "",
             "| model | target | MACs | ref instr | ref instr/MAC | DSP instr | DSP instr/MAC | "
             "ref/DSP | bit-exact (ref, DSP) | arena planned | TFLM arena | weights (flash) | "
             ".tflite | firmware flash (DSP) | model origin |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['target']} | {r['macs']:,} | {r['reference_instructions']:,} | "
            f"{r['reference_instructions_per_mac']} | {r['dsp_instructions']:,} | "
            f"{r['dsp_instructions_per_mac']} | {r['speedup_reference_over_dsp']}x | "
            f"{r['reference_bit_exact_vs_tflm']}, {r['dsp_bit_exact_vs_tflm']} | "
            f"{r['arena_planned_bytes']:,} | {r['tflm_arena_bytes (measured, smallest working)']:,} | "
            f"{r['weights_bytes']:,} | {r['tflite_bytes']:,} | {r['dsp_flash_bytes']:,} | {r['origin']} |")
    for r in rows:
        if "per_op" not in r:
            continue
        lines += ["", f"## Per op: {r['model']} on {r['target']} (first sample, instructions (emulated))", "",
                  "| # | op | output | MACs | reference | DSP | ref/DSP |", "|---:|---|---|---:|---:|---:|---:|"]
        for o in r["per_op"]:
            ratio = o["reference_instructions"] / max(o["dsp_instructions"], 1)
            lines.append(f"| {o['index']} | {o['op']} | {o['output_shape']} | {o['macs']:,} | "
                         f"{o['reference_instructions']:,} | {o['dsp_instructions']:,} | {ratio:.2f} |")
    lines += ["", "Raw rows:", "", "```json", json.dumps(rows), "```", ""]
    tmp = Path(str(args.out) + ".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, args.out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
