"""`make demo`: run the part of the pipeline that exists, and say what it did.

Each step is a CLI call, so the demo shows exactly what a user would type. CI runs it
(`.ci/run`, after the suite) from a fresh clone's state, so a broken first run cannot land.
"""

from __future__ import annotations

import subprocess
import sys
import time

# (title, arguments, the exit code that means the step showed what it should)
STEPS = [
    ("target profiles", ["targets", "list"], 0),
    ("reference models", ["models", "list"], 0),
    # convert and build need no data (the calibration set is committed in calibration_data/);
    # the evaluations need test clips: the first 600 of each split, a prefix of the full dataset.
    ("KWS test clips for the evaluations, synthesized with espeak-ng (cached after the first run)",
     ["data", "prepare", "--model", "kws", "--limit", "600"], 0),
    ("KWS quantized for cortex-m4: op coverage, int8 accuracy per cohort, per-layer error",
     ["convert", "--model", "kws", "--target", "cortex-m4"], 0),
    ("KWS firmware for cortex-m4: link sizes, instructions on QEMU, budgets",
     ["build", "--target", "cortex-m4", "--model", "kws"], 0),
    ("KWS on QEMU: per-cohort accuracy, latency, reports (300 test clips)",
     ["eval", "--target", "cortex-m4", "--model", "kws", "--limit", "300"], 0),
    ("The firmware case: the telephone devices ship a Q15-FFT frontend; the fleet's eval flags them, "
     "explained by preprocessing on that firmware (exit 1)",
     ["eval", "--target", "cortex-m4", "--model", "kws", "--limit", "600", "--cohort-firmware", "telephone:fixed-q15"], 1),
    ("MobileNetV2 on the small Cortex-M4 part: expected to fail its budgets (exit 1)",
     ["build", "--target", "cortex-m4-small", "--model", "mobilenetv2"], 1),
    ("KWS on Ethos-U55 through Vela", ["build", "--target", "cortex-m55-ethos-u55", "--model", "kws"], 0),
    ("Field monitoring: 300 KWS devices for 45 days, firmware v2 (Q15 FFT) reaches part of dm-b from day 21; "
     "the telemetry is simulated through the real int8 model and ingested into DuckDB",
     ["monitor", "simulate", "--model", "kws", "--scenario", "firmware-rollout", "--devices", "300", "--days", "45",
      "--ingest"], 0),
    ("... and the check calls it skew in firmware v2 on dm-b, label-free (exit 1)",
     ["monitor", "check", "--model", "kws", "--by", "device_model,firmware"], 1),
]


def run_step(title: str, args: list[str], expected: int) -> bool:
    print(f"\n=== {title}: edgekit {' '.join(args)}", flush=True)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "edgekit", *args])
    ok = proc.returncode == expected
    print(f"--- exit {proc.returncode} ({'as expected' if ok else f'expected {expected}'}) "
          f"in {time.monotonic() - t0:.1f} s", flush=True)
    return ok


def main() -> int:
    results = [(title, run_step(title, args, expected)) for title, args, expected in STEPS]
    print("\nedgekit demo summary:")
    for title, ok in results:
        print(f"  {'ok    ' if ok else 'FAILED'} {title}")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
