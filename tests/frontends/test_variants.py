"""Firmware variants: data files, validation, and that each variant really computes what
it says (and really differs from the spec)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.frontends import (AudioVariant, ImageVariant, build_host, effective_spec, get_variant,
                               load_variants, parity, reference_int8)
from edgekit.models import load_model

from .conftest import synth_clips


def test_shipped_variants(kws, mobilenet):
    kv, mv = load_variants(kws), load_variants(mobilenet)
    assert list(kv)[0] == "default" and list(mv)[0] == "default"
    assert len(kv) >= 3 and len(mv) >= 3  # default + at least two realistic variants each
    assert {"fixed-q15", "window-hamming"} <= set(kv)
    assert {"fast-resize", "no-crop", "bgr"} <= set(mv)
    assert all(v.description for v in [*kv.values(), *mv.values()])


def test_variants_really_differ(kws, mobilenet, clips, images, kws_quant, image_quant):
    for spec, raws, q in ((kws, clips, kws_quant), (mobilenet, images, image_quant)):
        for name in load_variants(spec):
            r = parity(spec, name, raws, q)
            if name == "default":
                assert r.overall.max_abs_diff <= 1
            elif name != "log2-fast":  # the benign one: a fast log within one step (tested below)
                assert r.overall.max_abs_diff >= 3 and r.overall.share_differing > 0.02, (name, r.overall)


def test_spec_level_variants_equal_the_reference_of_their_spec(kws, mobilenet, clips, images, kws_quant, image_quant):
    # window-hamming computes exactly the reference with window=hamming ...
    for spec, raws, q, name in ((kws, clips, kws_quant, "window-hamming"),
                                (mobilenet, images, image_quant, "no-crop")):
        v = get_variant(spec, name)
        eff = effective_spec(spec.preprocessing, v)
        assert eff != spec.preprocessing
        r = parity(eff, v, raws, q, frontend=build_host(spec, v, q))
        assert r.passed and r.overall.max_abs_diff <= 1, (name, r.overall)


def test_fft_scale_acts_as_a_larger_log_offset(kws, clips, kws_quant):
    v = get_variant(kws, "fft-scale")
    n = kws.preprocessing.fft_size
    larger = kws.preprocessing.model_copy(update={"log_offset": kws.preprocessing.log_offset * n})
    r = parity(larger, v, clips, kws_quant, frontend=build_host(kws, v, kws_quant))
    assert r.passed and r.overall.max_abs_diff <= 1, r.overall


def test_bgr_variant_is_the_reference_on_swapped_channels(mobilenet, images, image_quant):
    fe = build_host(mobilenet, get_variant(mobilenet, "bgr"), image_quant)
    for img in images[:3]:
        ref = reference_int8(mobilenet.preprocessing, img[:, :, ::-1], image_quant)
        assert np.abs(fe.run(img).astype(int) - ref.astype(int)).max() <= 1


def test_fast_resize_is_nearest_with_truncating_integer_normalisation(mobilenet, images, image_quant):
    fe = build_host(mobilenet, get_variant(mobilenet, "fast-resize"), image_quant)
    nearest = mobilenet.preprocessing.model_copy(update={"resize": "nearest"})
    d = np.concatenate([(fe.run(im).astype(int) - reference_int8(nearest, im, image_quant).astype(int)).ravel()
                        for im in images])
    # Truncation instead of rounding: never more than one step, and biased downwards.
    assert d.min() >= -1 and d.max() <= 0 and (d == -1).mean() > 0.2


def test_fixed_q15_loses_quiet_input(kws, kws_quant):
    """The Q15 FFT's rounding floor hurts quiet clips much more than loud ones."""
    fe = build_host(kws, get_variant(kws, "fixed-q15"), kws_quant)
    clip = synth_clips(1, seed=7)[0].astype(np.float64)
    clip = clip / np.abs(clip).max()

    def err(level):
        x = np.round(clip * level * 32767).astype(np.int16)
        return np.abs(fe.run(x).astype(int) - reference_int8(kws.preprocessing, x, kws_quant).astype(int)).mean()

    loud, quiet = err(0.5), err(0.01)
    assert quiet > 2 * loud and quiet > 1.0, (loud, quiet)


def test_fast_log_is_benign(kws, clips, kws_quant):
    r = parity(kws, "log2-fast", clips, kws_quant)
    assert r.overall.max_abs_diff <= 1 and 0 < r.overall.share_differing < 0.05


def _model_copy(tmp_path, name: str, variants_text: str):
    dst = tmp_path / name
    shutil.copytree(load_model(name).folder, dst, ignore=shutil.ignore_patterns("*.keras", "*.tflite"))
    (dst / "firmware_variants.yaml").write_text(variants_text)
    return load_model(str(dst))


@pytest.mark.parametrize("text, match", [
    ("variants:\n  bad:\n    fft: q31\n", r"firmware_variants.yaml: variants.bad.fft"),
    ("variants:\n  bad:\n    windw: hamming\n", r"variants.bad.windw: unknown field"),
    ("variants:\n  bad:\n    log_offset: -1\n", r"variants.bad.log_offset"),
    ("variants:\n  default:\n    fft: q15\n", r"reserved"),
    ("variants: [a, b]\n", r"must be a mapping"),
    ("variants:\n  bad: 3\n", r"expected a mapping"),
    ("variants:\n  bad:\n    rescale_after_log: true\n", r"variants.bad.*needs fft_scaled_by_1_over_n"),
    ("variants:\n  bad:\n    resize: nearest\n", r"variants.bad.resize: unknown field"),  # image knob on audio
])
def test_bad_variant_files_are_user_errors(tmp_path, text, match):
    spec = _model_copy(tmp_path, "kws", text)
    with pytest.raises(UserError, match=match):
        load_variants(spec)


def test_unknown_variant_name(kws, mobilenet):
    with pytest.raises(UserError, match="unknown for model kws; known: default, "):
        get_variant(kws, "fast-resize")
    assert isinstance(get_variant(mobilenet, None), ImageVariant)
    assert isinstance(get_variant(kws, "default"), AudioVariant)
