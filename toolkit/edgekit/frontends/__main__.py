"""python -m edgekit.frontends MODEL [--variant V ...] [--tflite T] [--per-cell N] [--json]

Developer entry point for the frontend check (parity per cohort, and accuracy per variant
given an int8 model); the user-facing command is `edgekit skew`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgekit.errors import EdgekitError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgekit.frontends")
    ap.add_argument("model")
    ap.add_argument("--variant", action="append")
    ap.add_argument("--tflite", type=Path)
    ap.add_argument("--scale", type=float)
    ap.add_argument("--zero-point", type=int, default=0)
    ap.add_argument("--per-cell", type=int, default=30)
    ap.add_argument("--split", default="test")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    from edgekit.frontends.check import check_frontends, report_section
    from edgekit.frontends.codegen import InputQuant
    from edgekit.models import load_model

    try:
        spec = load_model(a.model)
        q = InputQuant(a.scale, a.zero_point) if a.scale is not None else None
        res = check_frontends(spec, a.variant, a.split, a.per_cell, tflite=a.tflite, quant=q)
    except EdgekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if a.json:
        print(json.dumps(report_section(res), indent=2, default=str))
        return 0
    print(f"{res.model}: {res.n_samples} samples of split {res.split}; input scale {res.input_scale:.6g}, "
          f"zero point {res.input_zero_point} ({res.input_quant_from})")
    for name, p in res.parity.items():
        o = p.overall
        print(f"  {name:15s} parity (measured): max |diff| {o.max_abs_diff} steps, differing {100 * o.share_differing:.2f}%, "
              f"within 1 step {100 * o.share_within_one_step:.2f}%")
        for f, vals in p.per_cohort.items():
            print("      " + f + ": " + ", ".join(f"{v} max {s.max_abs_diff} / {100 * s.share_differing:.1f}% differ"
                                                  for v, s in vals.items()))
        acc = res.accuracy.get(name)
        if acc:
            print(f"      accuracy (measured, int8 LiteRT ref): reference {100 * acc.overall.reference_accuracy:.1f}% -> "
                  f"variant {100 * acc.overall.variant_accuracy:.1f}% ({acc.overall.delta_points:+.1f} points)")
            for f, vals in acc.per_cohort.items():
                print("      " + f + ": " + ", ".join(f"{v} {c.delta_points:+.1f} (n={c.n})" for v, c in vals.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
