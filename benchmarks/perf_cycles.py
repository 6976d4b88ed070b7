"""Performance benchmark (issue 16): instructions and estimated cycles per inference, per MAC
and per kernel function, speed-up over the reference kernels, planned arena vs tflite-micro's,
the KWS frontend's share, beside the MLPerf Tiny published figures.

    .venv/bin/python benchmarks/perf_cycles.py --out benchmarks/perf_cycles.md

Instructions are counted by QEMU (-icount, exact). Cycles are "cycles (estimated from the
executed instruction mix)" (edgekit.cycles: one traced inference priced with the core's timing
table and the profile's flash wait states), not measured. Models: KWS and MobileNetV2 as
converted by `edgekit convert` (build/<target>/<model>/model_int8.tflite), and a MobileNetV1
0.25 96x96 visual-wake-words model built here from its architecture (random weights, BatchNorm
statistics set from data, int8-quantized; not committed). Every run is checked bit for bit
against the tflite-micro interpreter on its inputs (seeded random int8 tensors: the counts
depend on the layer shapes, hardly on the values).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "toolkit"))

# MLPerf Tiny v1.2 closed division, STM32L4R5 (Cortex-M4, 120 MHz), X-CUBE-AI 9.0.
ANCHORS = {"kws": ("MLPerf Tiny v1.2, STM32L4R5 Cortex-M4 @120 MHz, X-CUBE-AI", 43.19, 120e6),
           "vww": ("MLPerf Tiny v1.2, STM32L4R5 Cortex-M4 @120 MHz, X-CUBE-AI", 88.9, 120e6)}

RUNS = [  # model, target, kernels, trace (cycle estimate)
    ("kws", "cortex-m4", "reference", False), ("kws", "cortex-m4", "dsp", True),
    ("kws", "cortex-m7", "dsp", True), ("kws", "cortex-m55", "mve", True),
    ("vww", "cortex-m4", "reference", False), ("vww", "cortex-m4", "dsp", True),
    ("mobilenetv2", "cortex-m7", "reference", False), ("mobilenetv2", "cortex-m7", "dsp", True),
    ("mobilenetv2", "cortex-m55", "mve", True),
]


def vww_model(out: Path, seed: int = 0) -> Path:
    """MobileNetV1 alpha 0.25 at 96x96x3, 2 classes (the MLPerf Tiny VWW architecture): random
    weights, BatchNorm moving statistics set from data (forward passes in training mode over
    random images), full-int8 quantized. Cached under build/_bench/."""
    path = out / "vww_mobilenetv1_025_96_int8.tflite"
    if path.is_file():
        return path
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    base = tf.keras.applications.MobileNet(input_shape=(96, 96, 3), alpha=0.25, weights=None,
                                           include_top=False, pooling="avg")
    # The classifier as Dense + softmax (Keras' own top reshapes through a dynamic SHAPE op).
    m = tf.keras.Sequential([base, tf.keras.layers.Dense(2, activation="softmax")])
    rng = np.random.default_rng(seed)
    for bn in (layer for layer in m.layers if isinstance(layer, tf.keras.layers.BatchNormalization)):
        bn.momentum = 0.0   # the statistics of the last batch, not a blend with the initial 0/1
    x = rng.uniform(-1, 1, (32, 96, 96, 3)).astype(np.float32)
    m(x, training=True)
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[i:i + 1]] for i in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    out.mkdir(parents=True, exist_ok=True)
    path.write_bytes(conv.convert())
    return path


def model_path(model: str) -> Path:
    from edgekit import resources

    if model == "vww":
        return vww_model(resources.build_dir() / "_bench")
    target = {"kws": "cortex-m4", "mobilenetv2": "cortex-m7"}[model]
    p = resources.stage_dir(target, model) / "model_int8.tflite"
    if not p.is_file():
        raise SystemExit(f"{p}: missing; run `edgekit convert --model {model} --target {target}`")
    return p


def frontend_row(target_name: str, tflite: Path, work: Path) -> dict:
    """The KWS MFCC frontend on QEMU: instructions (emulated) and estimated cycles of one clip."""
    from edgekit import cycles
    from edgekit.frontends import get_variant, input_quant_of
    from edgekit.frontends.emulated import run_emulated
    from edgekit.models import load_model
    from edgekit.targets import load_target

    spec, target = load_model("kws"), load_target(target_name)
    raw = np.random.default_rng(0).normal(0, 3000, 16000).astype(np.int16)
    r = run_emulated(spec, get_variant(spec, None), input_quant_of(tflite), [raw], target, work / "fe")
    est = cycles.estimate_elf(work / "fe" / "frontend_selftest.elf", target, window="ek_frontend_run")
    return {"instructions": r.instructions[0], "cycles": est.cycles_per_instruction * r.instructions[0]}


def function_lines(funcs: dict, top: int = 8) -> list[str]:
    """Per traced run: the functions with the most estimated cycles, and the instruction classes."""
    lines = []
    for (model, target_name, kernels), est in funcs.items():
        lines += ["", f"## Where the cycles go: {model} on {target_name} ({kernels}), by function (estimated, one inference)",
                  "", "| function | instructions | cycles (estimated) | cycles / instruction |", "|---|---:|---:|---:|"]
        for name, v in list(est.by_symbol.items())[:top]:
            lines.append(f"| {name} | {v['instructions']:,} | {v['cycles']:,} | "
                         f"{v['cycles'] / v['instructions']:.2f} |" if v["instructions"] else f"| {name} | 0 | 0 | - |")
        kinds = ", ".join(f"{k} {v['cycles'] / est.cycles:.0%}" for k, v in list(est.by_kind.items())[:6])
        lines.append(f"\nBy instruction class (share of cycles): {kinds}.")
    return lines


_OP_COMMENT = re.compile(r"/\* (\d+): (\w+) -> .*?, (\d+) MACs \*/")
_CALL = re.compile(r"^\s+(ek_\w+)\(")


def kernel_calls(model_c: Path) -> list[dict]:
    """The kernel calls of the generated ek_model_invoke, in order, each with the ops it computes
    (an op computed inside the next op's call, or with no call of its own, counts to that call)."""
    body = model_c.read_text().split("int ek_model_invoke(void)", 1)[1]
    calls, ops = [], []
    for line in body.splitlines():
        if line.startswith("}"):
            break
        m = _OP_COMMENT.search(line)
        if m:
            ops.append((int(m.group(1)), m.group(2), int(m.group(3))))
        elif (c := _CALL.match(line)) and ops:
            calls.append({"function": c.group(1), "ops": ops})
            ops = []
    return calls


def layer_lines(model: str, target_name: str, kernels: str, est, model_c: Path) -> list[str]:
    """Per kernel call of one inference: its ops, MACs, estimated cycles and cycles per MAC; and the
    same summed per op type (a fused pointwise+depthwise call counts as its own type)."""
    calls = kernel_calls(model_c)
    if len(calls) != len(est.by_call):
        return ["", f"(per-layer table left out: {len(calls)} kernel calls in model.c, "
                f"{len(est.by_call)} traced)"]
    lines = ["", f"## Where the cycles go: {model} on {target_name} ({kernels}), by layer (estimated, one inference)",
             "", "| ops | kernel | MACs | instructions | cycles (estimated) | cycles / MAC |",
             "|---|---|---:|---:|---:|---:|"]
    types: dict[str, list] = {}
    for call, traced in zip(calls, est.by_call):
        macs = sum(o[2] for o in call["ops"])
        name = " + ".join(f"{i} {op}" for i, op, _ in call["ops"])
        per_mac = f"{traced['cycles'] / macs:.2f}" if macs else "-"
        lines.append(f"| {name} | {call['function']} | {macs:,} | {traced['instructions']:,} | "
                     f"{traced['cycles']:,} | {per_mac} |")
        t = types.setdefault(" + ".join(op for _, op, _ in call["ops"]), [0, 0, 0])
        t[0] += macs
        t[1] += traced["instructions"]
        t[2] += traced["cycles"]
    lines += ["", f"By op type ({model}, {target_name}, {kernels}):", "",
              "| op type | MACs | instructions | cycles (estimated) | cycles / MAC |", "|---|---:|---:|---:|---:|"]
    for name, (macs, ins, cyc) in sorted(types.items(), key=lambda kv: -kv[1][2]):
        lines.append(f"| {name} | {macs:,} | {ins:,} | {cyc:,} | {f'{cyc / macs:.2f}' if macs else '-'} |")
    return lines


def print_functions(funcs: dict, layers: dict) -> None:
    print("\n".join(function_lines(funcs, top=16)))
    for v in layers.values():
        print("\n".join(v))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8, help="inputs per selftest image (they sit in its flash)")
    ap.add_argument("--runs", help="only these rows, comma-separated model-target-kernels "
                    "(e.g. kws-cortex-m4-dsp); leaves out the frontend and the anchors")
    args = ap.parse_args(argv)
    runs = RUNS
    if args.runs:
        wanted = set(args.runs.split(","))
        runs = [r for r in RUNS if f"{r[0]}-{r[1]}-{r[2]}" in wanted]
        unknown = wanted - {f"{r[0]}-{r[1]}-{r[2]}" for r in RUNS}
        if unknown:
            ap.error(f"--runs: unknown {', '.join(sorted(unknown))}; have "
                     + ", ".join(f"{r[0]}-{r[1]}-{r[2]}" for r in RUNS))

    from edgekit import cycles, resources
    from edgekit.codegen import generate
    from edgekit.codegen.selftest import build_batch_elf, run_batch, tflm_arena_search
    from edgekit.interpreters import io_quant, run_tflm
    from edgekit.targets import load_target

    work = resources.build_dir() / "_bench" / "perf"
    rows, funcs, layers, arenas, ref_counts = [], {}, {}, {}, {}
    t_start = time.time()
    for model, target_name, kernels, trace in runs:
        tfl = model_path(model)
        target = load_target(target_name)
        d = work / f"{model}-{target_name}-{kernels}"
        gen = generate(tfl, d / "gen", model)
        iq, _ = io_quant(tfl)
        x = np.random.default_rng(1).integers(-128, 128, (args.samples, *iq.shape[1:])).astype(np.int8)
        gold = run_tflm(tfl, x)
        # The selftest image holds its inputs in flash: many inputs go through in several images.
        outputs, counts = [], []
        for i in range(0, len(x), args.batch):
            r = run_batch(gen, target, x[i:i + args.batch], kernels, d / "run", gold.dtype, timeout_s=1800)
            outputs.append(r.outputs)
            counts.extend(r.instructions)
        exact = bool(np.array_equal(np.concatenate(outputs), gold))
        ins = int(np.mean(counts))
        if kernels == "reference":
            ref_counts[(model, target_name)] = ins
        if model not in arenas:
            arenas[model] = (gen.arena_bytes, tflm_arena_search(tfl))
        row = {"model": model, "target": target_name, "kernels": kernels, "macs": gen.total_macs,
               "instructions": ins, "exact": exact, "cycles": None}
        if trace:
            img = build_batch_elf(gen, target, x[:1], kernels, d / "trace")
            est = cycles.estimate_elf(img.elf, target)
            row["cycles"] = ins * est.cycles_per_instruction
            row["cpi"] = est.cycles_per_instruction
            funcs[(model, target_name, kernels)] = est
            layers[(model, target_name, kernels)] = layer_lines(model, target_name, kernels, est, d / "gen" / "model.c")
        rows.append(row)
        print(f"{model} {target_name} {kernels}: {ins:,} instructions, "
              f"{row['cycles'] or 0:,.0f} cycles (estimated), exact {exact}", flush=True)
    if args.runs:   # a developer's partial run: the rows and where their cycles go
        print_functions(funcs, layers)
        return 0 if all(r["exact"] for r in rows) else 1
    fe = frontend_row("cortex-m4", model_path("kws"), work)

    lines = ["# Performance: instructions, estimated cycles, arena, frontend (issue 16)", "",
             f"Command: `.venv/bin/python benchmarks/perf_cycles.py --out benchmarks/perf_cycles.md` "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.time() - t_start:.0f} s on the shared "
             "2-core machine).", "",
             "Instructions: counted by QEMU (-icount, exact), mean over the inputs run. Cycles: estimated from the "
             "executed instruction mix (edgekit.cycles: one traced inference, each instruction priced with the "
             "core's timing table, toolkit/edgekit/cycles/timings/, plus the profile's flash wait states), not "
             "measured. Exact: outputs equal the tflite-micro interpreter's on the same inputs (seeded random "
             "int8 tensors). vww: MobileNetV1 0.25 96x96 built here (random weights, BatchNorm statistics from "
             "data).", "",
             "| model | target | kernels | MACs | instructions / inference | instr / MAC | cycles / inference (estimated) "
             "| cycles / MAC (estimated) | cycles / instruction | speed-up vs reference (instructions) | exact |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ref = ref_counts.get((r["model"], r["target"]))
        cyc = r["cycles"]
        c_inf = "-" if cyc is None else f"{cyc:,.0f}"
        c_mac = "-" if cyc is None else f"{cyc / r['macs']:.3f}"
        c_cpi = "-" if cyc is None else f"{r['cpi']:.3f}"
        speed = "-" if ref is None else f"{ref / r['instructions']:.2f}x"
        lines.append(f"| {r['model']} | {r['target']} | {r['kernels']} | {r['macs']:,} | {r['instructions']:,} | "
                     f"{r['instructions'] / r['macs']:.3f} | {c_inf} | {c_mac} | {c_cpi} | {speed} | {r['exact']} |")
    lines += ["", "## Beside the published figures", "",
              "| model | ours: cortex-m4 dsp, cycles / MAC (estimated) | published | published cycles / MAC |",
              "|---|---:|---|---:|"]
    for model, (src, ms, hz) in ANCHORS.items():
        ours = next(r for r in rows if r["model"] == model and r["target"] == "cortex-m4" and r["kernels"] == "dsp")
        lines.append(f"| {model} | {ours['cycles'] / ours['macs']:.2f} | {src}: {ms} ms | "
                     f"{ms * 1e-3 * hz / ours['macs']:.2f} |")
    lines += ["", "The published figures are measured on a board (DWT cycles at 120 MHz with the part's flash "
              "accelerator); ours are estimated for the profile's part (cortex-m4: nRF52840 class, 2 flash wait "
              "states behind its cache, data reads from flash not charged).", "",
              "## Planned arena vs tflite-micro", "", "| model | planned (B) | tflite-micro arena (B, measured) | ratio |",
              "|---|---:|---:|---:|"]
    for model, (ours, tflm) in arenas.items():
        lines.append(f"| {model} | {ours:,} | {tflm:,} | {ours / tflm:.2f}x |")
    model_kws = next(r for r in rows if r["model"] == "kws" and r["target"] == "cortex-m4" and r["kernels"] == "dsp")
    total_i = fe["instructions"] + model_kws["instructions"]
    total_c = fe["cycles"] + model_kws["cycles"]
    lines += ["", "## KWS request on cortex-m4: frontend vs model", "",
              "| part | instructions (emulated) | share | cycles (estimated) | share |", "|---|---:|---:|---:|---:|",
              f"| MFCC frontend (default variant, one clip) | {fe['instructions']:,} | "
              f"{fe['instructions'] / total_i:.1%} | {fe['cycles']:,.0f} | {fe['cycles'] / total_c:.1%} |",
              f"| model (dsp kernels) | {model_kws['instructions']:,} | {model_kws['instructions'] / total_i:.1%} | "
              f"{model_kws['cycles']:,.0f} | {model_kws['cycles'] / total_c:.1%} |"]
    lines += function_lines(funcs)
    for v in layers.values():
        lines += v
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0 if all(r["exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
