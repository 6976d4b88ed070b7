"""The same frontend sources build for Cortex-M, and on QEMU compute what the host build
computes; the emulator counts the frontend's instructions on their own."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from edgekit.firmware import cpu_flags, toolchain
from edgekit.frontends import build_host, generate, get_variant, load_variants, reference_int8
from edgekit.targets import load_target

from .conftest import synth_clips, synth_images


@pytest.mark.parametrize("model", ["kws", "mobilenetv2"])
def test_frontends_cross_compile_cleanly(request, tmp_path, model, kws_quant, image_quant):
    spec = request.getfixturevalue("kws" if model == "kws" else "mobilenet")
    q = kws_quant if model == "kws" else image_quant
    target = load_target("cortex-m4")
    for name, variant in load_variants(spec).items():
        gen = generate(spec, variant, q, tmp_path / name)
        proc = subprocess.run([toolchain(), *cpu_flags(target), "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
                               *[f"-I{d}" for d in gen.include_dirs], "-c", *map(str, gen.sources)],
                              cwd=tmp_path / name, capture_output=True, text=True)
        assert proc.returncode == 0, (name, proc.stderr)
        assert len(list((tmp_path / name).glob("*.o"))) == len(gen.sources)


@pytest.mark.slow
@pytest.mark.parametrize("target_name", ["cortex-m4", "cortex-m55"])
def test_emulated_frontend_equals_host_build_and_reference(tmp_path, kws, mobilenet, kws_quant, image_quant,
                                                           target_name):
    from edgekit.frontends.emulated import run_emulated

    target = load_target(target_name)
    cases = [(kws, kws_quant, synth_clips(2, seed=11), ["default", "fixed-q15"]),
             (mobilenet, image_quant, synth_images(2, seed=11), ["default", "fast-resize"])]
    for spec, q, raws, names in cases:
        counts = {}
        for name in names:
            v = get_variant(spec, name)
            run = run_emulated(spec, v, q, raws, target, tmp_path / spec.name / name)
            host = build_host(spec, v, q).run_batch(raws)
            np.testing.assert_array_equal(run.outputs, host)  # same C, same float32 results
            if name == "default":
                ref = np.stack([reference_int8(spec.preprocessing, r, q) for r in raws])
                assert np.abs(run.outputs.astype(int) - ref.astype(int)).max() <= 1
            assert run.unit == "instructions (emulated)" and run.variant == name
            assert min(run.instructions) > 10_000
            counts[name] = float(np.mean(run.instructions))
        if spec is mobilenet:
            # Nearest-neighbour + integer normalisation is the *fast* path: it must be cheaper.
            assert counts["fast-resize"] < 0.8 * counts["default"], counts
