"""Raw inputs for frontend tests: synthesized here (deterministic), so the fast tests need
no prepared dataset; the slow tests also use the real dataset generators."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.frontends import InputQuant
from edgekit.models import load_model


def synth_clips(n: int, seed: int = 0) -> list[np.ndarray]:
    """Speech-like clips: a gliding harmonic tone under an envelope, plus noise, at levels
    from very quiet to loud (so the log floor and the loud end are both exercised)."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000.0
    clips = []
    for i in range(n):
        f0 = rng.uniform(90, 250)
        tone = sum(np.sin(2 * np.pi * f0 * h * t * (1 + 0.2 * t)) / h for h in range(1, 12))
        env = np.exp(-((t - rng.uniform(0.3, 0.7)) / rng.uniform(0.08, 0.25)) ** 2)
        level = 10 ** rng.uniform(-3.5, -0.5)
        noise = 10 ** rng.uniform(-4.5, -2) * rng.standard_normal(t.size)
        x = level * tone * env / 3 + noise
        clips.append(np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16))
    clips.append(np.zeros(16000, np.int16))  # digital silence: every mel bin at the log floor
    return clips


def synth_images(n: int, seed: int = 0, shape=(120, 160)) -> list[np.ndarray]:
    """Camera-like frames: smooth gradient, a coloured blob, sensor noise, some saturation."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for i in range(n):
        base = rng.uniform(20, 200, 3)[None, None, :] + (xx / w * rng.uniform(-60, 60))[:, :, None]
        cy, cx, r = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w, rng.uniform(0.15, 0.35) * min(h, w)
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r)[:, :, None] * rng.uniform(-120, 120, 3)
        img = base + blob + rng.normal(0, rng.uniform(1, 12), (h, w, 3))
        out.append(np.clip(np.round(img), 0, 255).astype(np.uint8))
    return out


@pytest.fixture(scope="session")
def kws():
    return load_model("kws")


@pytest.fixture(scope="session")
def mobilenet():
    return load_model("mobilenetv2")


@pytest.fixture(scope="session")
def clips():
    return synth_clips(12)


@pytest.fixture(scope="session")
def images():
    return synth_images(4) + synth_images(2, seed=1, shape=(128, 128)) + synth_images(2, seed=2, shape=(112, 144))


@pytest.fixture(scope="session")
def kws_quant(kws, clips):
    """A converter-like int8 quantization for the MFCC input, from the clips' own range
    (the real one comes from the int8 model once converted)."""
    from edgekit.preprocess import apply

    feats = np.stack([apply(kws, c) for c in clips])
    return InputQuant.for_range(float(feats.min()), float(feats.max()))


@pytest.fixture(scope="session")
def image_quant():
    return InputQuant.for_range(-1.0, 1.0)
