"""The kernels on emulated Cortex-M cores (QEMU), both variants, against tflite-micro.

On cortex-m4 the DSP variant uses the real SMLAD/SXTB16 instructions (ACLE intrinsics),
so this is where the optimized kernels themselves are proven bit-exact; instruction counts
(QEMU -icount: exact, "instructions (emulated)") show what the DSP path saves.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.codegen import generate
from edgekit.codegen.selftest import UNIT, run_batch
from edgekit.interpreters import io_quant, run_tflm
from edgekit.targets import load_target

from tests.codegen import tiny_models
from tests.codegen.cases import FIXED_CASES, random_cases

pytestmark = pytest.mark.slow

CASES = FIXED_CASES + random_cases()[:16]


@pytest.fixture(scope="module")
def models():
    return tiny_models.ensure_models(CASES)


def _inputs(case, iq, n=12):
    rng = np.random.default_rng(case["seed"] + 1000)
    if np.dtype(iq.dtype).kind == "f":
        return rng.uniform(-1.5, 1.5, (n, *iq.shape[1:])).astype(np.float32)
    return rng.integers(-128, 128, (n, *iq.shape[1:])).astype(np.int8)


@pytest.mark.parametrize("k", range(len(CASES)), ids=[f"{c['op']}-{c['seed']}" for c in CASES])
def test_bitexact_on_cortex_m4(k, models, tmp_path):
    case, path = CASES[k], models[k]
    target = load_target("cortex-m4")
    iq, _ = io_quant(path)
    x = _inputs(case, iq)
    gold = run_tflm(path, x)
    gen = generate(path, tmp_path / "gen", case["op"])
    counts = {}
    for kernels in ("reference", "dsp"):
        r = run_batch(gen, target, x, kernels, tmp_path / kernels, gold.dtype, timeout_s=300)
        assert r.unit == UNIT
        assert np.array_equal(r.outputs, gold), (kernels, case)
        counts[kernels] = int(np.mean(r.instructions))
    if case["op"] in ("conv", "dwconv", "fc", "cnn") and gen.total_macs >= 2000:
        assert counts["dsp"] < counts["reference"], counts


@pytest.mark.parametrize("k", range(len(CASES)), ids=[f"{c['op']}-{c['seed']}" for c in CASES])
def test_mve_bitexact_on_cortex_m55(k, models, tmp_path):
    """The Helium kernels (VMLADAVA, VQRDMULH requantization) on QEMU's Cortex-M55."""
    case, path = CASES[k], models[k]
    target = load_target("cortex-m55")
    iq, _ = io_quant(path)
    x = _inputs(case, iq)
    gold = run_tflm(path, x)
    gen = generate(path, tmp_path / "gen", case["op"])
    counts = {}
    for kernels in ("dsp", "mve"):
        r = run_batch(gen, target, x, kernels, tmp_path / kernels, gold.dtype, timeout_s=300)
        assert np.array_equal(r.outputs, gold), (kernels, case)
        counts[kernels] = int(np.mean(r.instructions))
    if case["op"] in ("conv", "dwconv", "cnn") and gen.total_macs >= 2000:
        assert counts["mve"] < counts["dsp"], counts


@pytest.mark.parametrize("target_name", ["cortex-m7", "cortex-m33", "cortex-m55"])
def test_cnn_bitexact_on_other_cores(target_name, models, tmp_path):
    k = next(i for i, c in enumerate(CASES) if c["op"] == "cnn")
    case, path = CASES[k], models[k]
    target = load_target(target_name)
    iq, _ = io_quant(path)
    x = _inputs(case, iq)
    gold = run_tflm(path, x)
    gen = generate(path, tmp_path / "gen", "cnn")
    for kernels in ("reference", "dsp"):
        r = run_batch(gen, target, x, kernels, tmp_path / kernels, gold.dtype, timeout_s=300)
        assert np.array_equal(r.outputs, gold), kernels
