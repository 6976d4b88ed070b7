"""Diagnosis names the kind of a planted difference on real reference tensors."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit import data
from edgekit.models import load_model
from edgekit.preprocess import apply_batch
from edgekit.skew import diagnosis as dg


@pytest.fixture(scope="module")
def images():
    spec = load_model("mobilenetv2")
    recs = data.load_dataset(spec).split("test")[:12]
    return spec, apply_batch(spec, [data.load_raw(spec, r) for r in recs])


@pytest.fixture(scope="module")
def audio():
    spec = load_model("kws")
    recs = data.load_dataset(spec).split("test")[:12]
    return spec, [data.load_raw(spec, r) for r in recs]


@pytest.mark.parametrize("plant, kind, words", [
    (lambda x: x[..., ::-1], "channel permutation", "R and B swapped"),
    (lambda x: x + 0.5 / 127.5, "gain/offset", "mean off by +0.50 pixel levels"),
    (lambda x: np.roll(x, (1, -2), axis=(1, 2)), "spatial alignment", "shift by +1 rows, -2 columns"),
    (lambda x: x[:, :, ::-1], "spatial alignment", "horizontal flip"),
    (dg._box_blur, "smoothing", "smoother"),
])
def test_image_differences(images, plant, kind, words):
    spec, ref = images
    f = dg.diagnose(spec.preprocessing, ref, plant(ref).astype(np.float32))
    assert f["kind"] == kind and words in f["text"], f["text"]


def test_audio_level_and_frame_lag(audio):
    spec, raws = audio
    ref = apply_batch(spec, raws)
    quiet = apply_batch(spec, [(r.astype(np.float64) * 0.5).astype(np.int16) for r in raws])
    f = dg.diagnose(spec.preprocessing, ref, quiet)
    assert f["kind"] == "level difference" and abs(f["level_difference_db"] + 6.0) < 0.3, f["text"]
    late = apply_batch(spec, [np.roll(r, 2 * spec.preprocessing.stride_samples) for r in raws])
    f = dg.diagnose(spec.preprocessing, ref, late)
    assert f["kind"] == "frame lag" and f["best_frame_lag"] == 2, f["text"]


def test_equal_tensors_have_no_finding(images):
    spec, ref = images
    assert dg.diagnose(spec.preprocessing, ref, ref.copy()) is None
