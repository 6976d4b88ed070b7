"""Firmware vs the tflite-micro interpreter, bit for bit, on a test split under QEMU.

    .venv/bin/python benchmarks/bitexact_tflm.py --target cortex-m4 --model kws            # whole test split
    .venv/bin/python benchmarks/bitexact_tflm.py --target cortex-m7 --model mobilenetv2 --limit 200

Builds the firmware with `edgekit build` first (its model_int8.tflite, from edgekit convert).
"""

from __future__ import annotations

import argparse
import sys
import time

from edgekit import resources
from edgekit.build import build
from edgekit.errors import CheckFailed
from edgekit.firmware.verify import verify_against_tflm
from edgekit.models import load_model
from edgekit.targets import load_target


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--kernels", default=None)
    args = ap.parse_args()
    spec, target = load_model(args.model), load_target(args.target)
    out = resources.stage_dir(target.name, spec.name)
    try:
        build(spec, target, kernels=args.kernels, firmware_variant="none")
    except CheckFailed as exc:  # over budget still leaves a firmware to compare
        print(f"(build: {exc})")
    t0 = time.time()
    r = verify_against_tflm(spec, target, out / "firmware.elf", out / "model_int8.tflite", "test", args.limit)
    print(f"{spec.name} on {target.name}: {r.samples} test samples, {r.mismatched_samples} differ from tflite-micro "
          f"(max |diff| {r.max_abs_diff} LSB); {r.instructions_min:,}..{r.instructions_max:,} {r.unit} per inference; "
          f"{time.time() - t0:.0f} s")
    return 0 if r.bit_exact else 1


if __name__ == "__main__":
    sys.exit(main())
