"""Where one kernel call's estimated cycles go, translated block by translated block.

    .venv/bin/python benchmarks/profile_call.py vww-cortex-m4-dsp 2 [--top 12] [--asm]

RUN is one of perf_cycles.py's runs (model-target-kernels), traced by it first
(`benchmarks/perf_cycles.py --runs RUN` leaves the traced image under build/_bench/perf/RUN/);
CALL is the row of its per-layer table (0: the first kernel call of the inference). Prints the
call's functions and its costliest blocks, each with its executions and estimated cycles
(edgekit.cycles.call_blocks: the core's timing table; flash wait states not included), and
with --asm their instructions: the view to find what a kernel spends beyond its MACs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="model-target-kernels, e.g. vww-cortex-m4-dsp")
    ap.add_argument("call", type=int, help="the kernel call's row in perf_cycles.py's per-layer table")
    ap.add_argument("--top", type=int, default=12, help="blocks to show (default 12)")
    ap.add_argument("--asm", action="store_true", help="print each block's instructions")
    args = ap.parse_args(argv)

    from edgekit import resources
    from edgekit.cycles import call_blocks, trace_target_elf
    from edgekit.targets import load_target
    from perf_cycles import RUNS, kernel_calls

    runs = {f"{m}-{t}-{k}": (t, k) for m, t, k, traced in RUNS if traced}
    if args.run not in runs:
        print(f"profile_call.py: no traced run {args.run!r}; traced runs: {', '.join(runs)}", file=sys.stderr)
        return 2
    target_name, kernels = runs[args.run]
    d = resources.build_dir() / "_bench" / "perf" / args.run
    elf = d / "trace" / f"selftest_{kernels}.elf"
    if not elf.exists():
        print(f"{elf}: missing; run `benchmarks/perf_cycles.py --runs {args.run}` first", file=sys.stderr)
        return 2
    calls = kernel_calls(d / "gen" / "model.c")
    if not 0 <= args.call < len(calls):
        print(f"profile_call.py: call {args.call} out of range: {args.run} makes {len(calls)} kernel calls "
              f"(0 to {len(calls) - 1})", file=sys.stderr)
        return 2
    target = load_target(target_name)
    mix = trace_target_elf(elf, target)
    blocks = call_blocks(mix, target.core.cpu, args.call)
    total = sum(b.cycles for b in blocks)
    call = calls[args.call]
    ops = " + ".join(f"{i} {op}" for i, op, _ in call["ops"])
    macs = sum(m for _, _, m in call["ops"])
    print(f"call {args.call}: {ops} ({call['function']}), {macs:,} MACs, "
          f"{sum(len(b.instructions) * b.executions for b in blocks):,} instructions, "
          f"{total:,.0f} cycles (estimated)" + (f", {total / macs:.2f} a MAC" if macs else ""))
    by_function: dict[str, list] = {}
    for b in blocks:
        f = by_function.setdefault(b.symbol, [0, 0.0])
        f[0] += len(b.instructions) * b.executions
        f[1] += b.cycles
    print("\n| function | instructions | cycles (estimated) | share |\n|---|---:|---:|---:|")
    for name, (n, c) in sorted(by_function.items(), key=lambda kv: -kv[1][1]):
        print(f"| {name} | {n:,} | {c:,.0f} | {c / total:.1%} |")
    print("\n| block | executions | cycles each | cycles (estimated) | share |\n|---|---:|---:|---:|---:|")
    for b in blocks[:args.top]:
        print(f"| {b.symbol} @0x{b.address:x} | {b.executions:,} | {b.cycles_each:.1f} | {b.cycles:,.0f} | "
              f"{b.cycles / total:.1%} |")
        if args.asm:
            print("\n".join(f"|     {x} | | | | |" for x in b.instructions))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
