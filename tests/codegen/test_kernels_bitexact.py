"""Generated C + kernels, compiled for the host in both variants, against tflite-micro.

Each case is a tiny model built with TF's converter (cached), golden outputs from the
tflite-micro interpreter (edgekit.interpreters.run_tflm, in a subprocess) on random int8
inputs over the full range and on inputs from the case's float range. Equality is bit for
bit: any rounding difference in any kernel fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.codegen import generate
from edgekit.interpreters import io_quant, run_litert_ref, run_tflm

from . import host, tiny_models
from .cases import FIXED_CASES, random_cases


def _inputs(case: dict, iq, n: int = 24) -> np.ndarray:
    rng = np.random.default_rng(case["seed"])
    shape = iq.shape[1:]
    if np.dtype(iq.dtype).kind == "f":
        return rng.uniform(-1.5, 1.5, (n, *shape)).astype(np.float32)
    lo, hi = case.get("in_range", [-1.0, 1.0])
    in_range = iq.quantize(rng.uniform(lo, hi, (n // 2, *shape)))
    full = rng.integers(-128, 128, (n - n // 2, *shape)).astype(np.int8)
    return np.concatenate([in_range, full])


def _check_case(case: dict, path, tmp_path, also_litert: bool = False, extra=None) -> None:
    """extra: more inputs appended to the case's own (e.g. op_cases.range_ends)."""
    iq, oq = io_quant(path)
    x = _inputs(case, iq)
    if extra is not None:
        x = np.concatenate([x, extra.astype(x.dtype)])
    gold = run_tflm(path, x)
    if also_litert:
        # The two references agree with each other (else the golden itself is in doubt).
        assert np.array_equal(run_litert_ref(path, x), gold)
    result = generate(path, tmp_path / "gen", case["op"])
    assert result.arena_bytes > 0
    for variant in ("ref", "dsp"):
        exe = host.build(tmp_path / "gen", variant)
        y = host.run(exe, x, gold.dtype, gold.shape[1:])
        diff = np.flatnonzero(y.reshape(-1) != gold.reshape(-1))
        assert diff.size == 0, (f"{variant} kernels differ from tflite-micro at {diff.size} of "
                                f"{gold.size} outputs, e.g. {y.reshape(-1)[diff[:5]]} vs "
                                f"{gold.reshape(-1)[diff[:5]]}; case {case}")


FAST = [c for c in FIXED_CASES if c["seed"] in (1, 2, 9, 10, 5, 8, 30, 15)]


@pytest.fixture(scope="module")
def fast_models():
    return tiny_models.ensure_models(FAST)


@pytest.mark.parametrize("k", range(len(FAST)), ids=[f"{c['op']}-{c['seed']}" for c in FAST])
def test_reference_layers_bitexact(k, fast_models, tmp_path):
    _check_case(FAST[k], fast_models[k], tmp_path, also_litert=(k == 0))


SLOW = FIXED_CASES + random_cases()


@pytest.fixture(scope="module")
def slow_models():
    return tiny_models.ensure_models(SLOW)


@pytest.mark.slow
@pytest.mark.parametrize("k", range(len(SLOW)), ids=[f"{c['op']}-{c['seed']}" for c in SLOW])
def test_randomized_ops_bitexact(k, slow_models, tmp_path):
    _check_case(SLOW[k], slow_models[k], tmp_path)
