"""`make demo`: run the part of the pipeline that exists, and say what it did.

Each step is a CLI call, so the demo shows exactly what a user would type.
"""

from __future__ import annotations

import subprocess
import sys
import time

STEPS = [
    ("target profiles", ["targets", "list"]),
    ("the cortex-m4 profile, resolved", ["targets", "show", "cortex-m4"]),
    ("reference models", ["models", "list"]),
]


def run_step(title: str, args: list[str]) -> bool:
    print(f"\n=== {title}: edgekit {' '.join(args)}", flush=True)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "edgekit", *args])
    ok = proc.returncode == 0
    print(f"--- {'ok' if ok else f'exit {proc.returncode}'} in {time.monotonic() - t0:.1f} s", flush=True)
    return ok


def main() -> int:
    results = [(title, run_step(title, args)) for title, args in STEPS]
    print("\nedgekit demo summary:")
    for title, ok in results:
        print(f"  {'done  ' if ok else 'FAILED'} {title}")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
