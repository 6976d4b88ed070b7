"""The runtime's fixed-point primitives on edge values, compiled for the host with UBSan.

Python models of gemmlowp's SaturatingRoundingDoublingHighMul, RoundingDivideByPOT and
TFLM's MultiplyByQuantizedMultiplier (exact integer arithmetic) against the C functions, on
the corners (INT32_MIN, INT32_MAX, ties, every shift) and on random values.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from edgekit.codegen import runtime_sources

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "firmware" / "runtime"
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1

# {header}, {srdhm}, {rdbypot}, {mbqm}: the exported wrappers, or the DSP kernels' inline ones.
PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include "{header}"
int main(void) {{
    char op; long a, b, c;
    while (scanf(" %c %ld %ld %ld", &op, &a, &b, &c) == 4) {{
        long r = 0;
        if (op == 'h') r = {srdhm}((int32_t)a, (int32_t)b);
        else if (op == 'd') r = {rdbypot}((int32_t)a, (int)b);
        else if (op == 'm') r = {mbqm}((int32_t)a, (int32_t)b, (int)c);
        printf("%ld\n", r);
    }}
    return 0;
}}
"""


def _wrap32(x: int) -> int:
    return (x + (1 << 31)) % (1 << 32) - (1 << 31)


def srdhm(a: int, b: int) -> int:
    if a == b == I32_MIN:
        return I32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = abs(v) >> 31
    return q if v >= 0 else -q          # C division truncates toward zero


def rdbypot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    rem = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > threshold else 0)


def mbqm(x: int, m: int, shift: int) -> int:
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbypot(srdhm(_wrap32(x << left), m), right)


def _compile(d: Path, flags: list[str], **names: str) -> Path:
    (d / "t.c").write_text(PROGRAM.format(**names))
    out = d / "t"
    subprocess.run(["gcc", "-std=c99", "-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all", *flags,
                    f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src' / 'kernels'}", str(d / "t.c"), "-lm", "-o", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def exe(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("fp"), list(map(str, runtime_sources())), header="fixedpoint.h",
                    srdhm="ek_srdhm", rdbypot="ek_rdbypot", mbqm="ek_mbqm")


def _run(exe: Path, rows: list[tuple]) -> list[int]:
    text = "".join(f"{op} {a} {b} {c}\n" for op, a, b, c in rows)
    proc = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True)
    return [int(v) for v in proc.stdout.split()]


def _add_mbqm_rows(rng: random.Random, n: int, multiplier, rows: list, want: list) -> None:
    for _ in range(n):
        shift = rng.randint(-31, 8)
        m = multiplier()
        # Inputs whose left shift does not overflow, as TFLM assumes.
        x = rng.randint(-(1 << (31 - max(shift, 0))) + 1, (1 << (31 - max(shift, 0))) - 1)
        rows.append(("m", x, m, shift))
        want.append(mbqm(x, m, shift))


def _assert_matches(exe: Path, rows: list, want: list) -> None:
    got = _run(exe, rows)
    bad = [(r, g, w) for r, g, w in zip(rows, got, want) if g != w]
    assert not bad, bad[:5]


def test_primitives_match_models(exe):
    rng = random.Random(7)
    corners = [I32_MIN, I32_MIN + 1, -(1 << 30), -3, -2, -1, 0, 1, 2, 3, 1 << 30, I32_MAX - 1, I32_MAX]
    rows, want = [], []
    for a in corners:
        for b in corners:
            rows.append(("h", a, b, 0))
            want.append(srdhm(a, b))
    for _ in range(3000):
        a, b = rng.randint(I32_MIN, I32_MAX), rng.randint(I32_MIN, I32_MAX)
        rows.append(("h", a, b, 0))
        want.append(srdhm(a, b))
    for e in range(0, 32):
        for x in corners + [rng.randint(I32_MIN, I32_MAX) for _ in range(40)] + [
                (1 << e) // 2, -((1 << e) // 2), 3 * (1 << e) // 2, -3 * (1 << e) // 2]:
            x = max(I32_MIN, min(I32_MAX, x))
            rows.append(("d", x, e, 0))
            want.append(rdbypot(x, e))
    _add_mbqm_rows(rng, 3000, lambda: rng.randint(1 << 30, I32_MAX), rows, want)
    _assert_matches(exe, rows, want)


def test_branchless_requantization_equals_models(tmp_path):
    # The DSP kernels' srdhm_qadd / mbqm_qadd (SMLAL + QADD, host emulation here) against the
    # same models: every pair of corners, products next to the saturation point, random pairs.
    exe = _compile(tmp_path, ["-DEK_KERNELS_DSP=1"], header="ek_simd.h", srdhm="srdhm_qadd",
                   rdbypot="rdbypot", mbqm="mbqm_qadd")
    rng = random.Random(11)
    corners = [I32_MIN, I32_MIN + 1, I32_MIN + 2, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1, -3, -2, -1,
               0, 1, 2, 3, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, I32_MAX - 1, I32_MAX]
    pairs = [(a, b) for a in corners for b in corners]
    pairs += [(rng.randint(I32_MIN, I32_MAX), rng.randint(I32_MIN, I32_MAX)) for _ in range(20000)]
    # Ties of the 2^31 rounding: ab + 2^30 a multiple of 2^31, either sign.
    pairs += [(a, b) for a, b in ((1 << 15, 1 << 15), (-(1 << 15), 1 << 15), (3 << 14, 1 << 16))]
    rows = [("h", a, b, 0) for a, b in pairs]
    want = [srdhm(a, b) for a, b in pairs]
    _add_mbqm_rows(rng, 20000, lambda: rng.choice([rng.randint(1 << 30, I32_MAX), rng.randint(I32_MIN, I32_MAX)]),
                   rows, want)
    _assert_matches(exe, rows, want)


def test_half_rounds_away_from_zero(exe):
    # RoundingDivideByPOT: 5/2 -> 3, -5/2 -> -3, 3/2 -> 2, -3/2 -> -2.
    assert _run(exe, [("d", 5, 1, 0), ("d", -5, 1, 0), ("d", 3, 1, 0), ("d", -3, 1, 0)]) == [3, -3, 2, -2]
