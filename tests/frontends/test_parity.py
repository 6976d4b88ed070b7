"""Default frontends (C, host build) against the Python reference: within one int8 step
on >= 99% of elements (the Done-when of issue 7), for the shipped specs and other specs."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.frontends import AudioVariant, ImageVariant, InputQuant, build_host, parity, raw_bytes, reference_int8
from edgekit.frontends.parity import WITHIN_ONE_STEP_REQUIRED

from .conftest import synth_clips, synth_images


def test_kws_default_frontend_matches_reference(kws, clips, kws_quant):
    r = parity(kws, "default", clips, kws_quant)
    assert r.overall.n_samples == len(clips) and r.overall.n_elements == len(clips) * 49 * 10
    assert r.overall.share_within_one_step >= WITHIN_ONE_STEP_REQUIRED and r.passed
    assert r.overall.max_abs_diff <= 1
    assert r.variant == "default" and r.kind == "mfcc"


def test_mobilenet_default_frontend_matches_reference(mobilenet, images, image_quant):
    r = parity(mobilenet, "default", images, image_quant)
    assert r.overall.n_elements == len(images) * 96 * 96 * 3
    assert r.passed and r.overall.max_abs_diff <= 1
    # Same float32 arithmetic in the same order, ties decided in double like the reference.
    assert r.overall.share_differing == 0.0


def test_rounding_ties_break_like_the_reference(mobilenet, images):
    """mean = std = 127.5 with the converter's scale float32(2/255) puts every integer pixel
    on a .5 tie: the frontend must break each one the way the reference does."""
    q = InputQuant(float(np.float32(2 / 255)), -1)
    r = parity(mobilenet, "default", images, q)
    assert r.overall.share_differing == 0.0, r.overall
    nearest = mobilenet.preprocessing.model_copy(update={"resize": "nearest"})  # all integer pixels
    assert parity(nearest, None, images, q).overall.share_differing == 0.0


def test_per_cohort_breakdown(mobilenet, images, image_quant):
    cohorts = [{"sensor": f"{im.shape[1]}x{im.shape[0]}"} for im in images]
    r = parity(mobilenet, "default", images, image_quant, cohorts=cohorts)
    per = r.per_cohort["sensor"]
    assert set(per) == {"160x120", "128x128", "144x112"}
    assert sum(s.n_samples for s in per.values()) == len(images)


@pytest.mark.parametrize("update", [
    {"window": "hamming"},
    {"spectrum": "power", "log_offset": 1e-9},
    {"window_samples": 480, "stride_samples": 160, "fft_size": 512, "mel_bins": 32, "dct_coefficients": 13,
     "upper_hz": 7600.0},
    {"clip_samples": 8000},
])
def test_audio_frontend_follows_other_specs(kws, update):
    spec = kws.preprocessing.model_copy(update=update)
    spec = type(spec).model_validate(spec.model_dump())  # re-validate the combination
    clips = synth_clips(5, seed=3)
    from edgekit.preprocess import apply

    feats = np.stack([apply(spec, c) for c in clips])
    q = InputQuant.for_range(float(feats.min()), float(feats.max()))
    r = parity(spec, None, clips, q)
    assert r.passed and r.overall.max_abs_diff <= 1, r.overall


@pytest.mark.parametrize("update", [
    {"color_order": "bgr"},
    {"resize": "nearest"},
    {"square_crop": False, "crop_fraction": 0.8},
    {"channels": 1, "mean": [100.0], "std": [60.0]},
    {"width": 64, "height": 48, "mean": [120.0, 110.0, 100.0], "std": [50.0, 60.0, 70.0]},
])
def test_image_frontend_follows_other_specs(mobilenet, images, image_quant, update):
    spec = mobilenet.preprocessing.model_copy(update=update)
    spec = type(spec).model_validate(spec.model_dump())
    r = parity(spec, None, images, InputQuant(0.02, 3))
    assert r.passed and r.overall.max_abs_diff <= 1, r.overall


def test_audio_clip_length_handling(kws, kws_quant):
    fe = build_host(kws, AudioVariant(), kws_quant)
    long = synth_clips(1, seed=5)[0]
    for clip in (long[:7000], np.concatenate([long, long[:5000]]), long[:0]):
        ref = reference_int8(kws.preprocessing, clip, kws_quant)
        assert np.abs(fe.run(clip).astype(int) - ref.astype(int)).max() <= 1


def test_raw_formats(mobilenet, image_quant):
    fe = build_host(mobilenet, ImageVariant(), image_quant, sensor=(120, 160))
    img = synth_images(1)[0]
    # A frame of the configured sensor size is accepted without the size header.
    np.testing.assert_array_equal(fe.run_bytes(img.tobytes()), fe.run(img))
    grey = img[:, :, 1]
    np.testing.assert_array_equal(fe.run(grey), fe.run(np.repeat(grey[:, :, None], 3, axis=2)))
    with pytest.raises(ValueError, match="returned -1"):
        fe.run_bytes(raw_bytes(mobilenet, img)[:-1])  # truncated frame
    with pytest.raises(ValueError, match="returned -1"):
        fe.run_bytes(b"\x00" * 5)
    with pytest.raises(UserError, match="uint8"):
        raw_bytes(mobilenet, img.astype(np.float32))


def test_audio_raw_errors(kws, kws_quant):
    fe = build_host(kws, AudioVariant(), kws_quant)
    with pytest.raises(ValueError, match="returned -1"):
        fe.run_bytes(b"\x01\x02\x03")  # odd byte count is no int16 PCM
    with pytest.raises(UserError, match="int16"):
        raw_bytes(kws, np.zeros(100, np.float32))
    assert fe.compiled_variant() == "default"


def test_host_frontend_is_safe_from_threads(kws, clips, kws_quant):
    from concurrent.futures import ThreadPoolExecutor

    fe = build_host(kws, AudioVariant(), kws_quant)
    serial = [fe.run(c) for c in clips]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(fe.run, clips * 3))
    for i, out in enumerate(parallel):
        np.testing.assert_array_equal(out, serial[i % len(clips)])
