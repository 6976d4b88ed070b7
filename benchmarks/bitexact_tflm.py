"""Firmware vs the tflite-micro interpreter, bit for bit, on a test split under QEMU.

    .venv/bin/python benchmarks/bitexact_tflm.py --target cortex-m4 --model kws            # whole test split
    .venv/bin/python benchmarks/bitexact_tflm.py --target cortex-m7 --model mobilenetv2 --limit 200
    ... --untrained     # the architecture's untrained int8 twin (benchmarks/untrained_models.py)

Builds a model-only firmware (no frontend) into build/bench-bitexact/ from the trained
build/<target>/<model>/model_int8.tflite (run `edgekit build` first) or the untrained twin,
then compares every sample.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edgekit import resources  # noqa: E402
from edgekit.build import build  # noqa: E402
from edgekit.errors import CheckFailed  # noqa: E402
from edgekit.harness.verify import verify_against_tflm  # noqa: E402
from edgekit.models import load_model  # noqa: E402
from edgekit.targets import load_target  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--kernels", default=None)
    ap.add_argument("--untrained", action="store_true")
    args = ap.parse_args()
    spec, target = load_model(args.model), load_target(args.target)
    # Its own build folder: the stage folder's firmware.elf (with the frontend) may be in use
    # by an evaluation.
    out = resources.build_dir() / "bench-bitexact" / target.name / spec.name / (args.kernels or "default")
    if args.untrained:
        from untrained_models import untrained_int8

        tflite = untrained_int8(spec.name)
    else:
        tflite = resources.stage_dir(target.name, spec.name) / "model_int8.tflite"
        if not tflite.is_file():
            print(f"{tflite}: missing; run `edgekit build --target {target.name} --model {spec.name}` first")
            return 2
    try:
        build(spec, target, kernels=args.kernels, firmware_variant="none", tflite_path=tflite, out_dir=out)
    except CheckFailed as exc:  # over budget still leaves a firmware to compare
        print(f"(build: {exc})")
    t0 = time.time()
    r = verify_against_tflm(spec, target, out / "firmware.elf", tflite, "test", args.limit)
    kernels = args.kernels or target.runtime.kernels
    print(f"{spec.name} ({'untrained twin' if args.untrained else 'trained'}) on {target.name}, {kernels} kernels: "
          f"{r.samples} test samples, {r.mismatched_samples} differ from tflite-micro "
          f"(max |diff| {r.max_abs_diff} LSB); {r.instructions_min:,}..{r.instructions_max:,} {r.unit} per inference; "
          f"{time.time() - t0:.0f} s")
    return 0 if r.bit_exact else 1


if __name__ == "__main__":
    sys.exit(main())
