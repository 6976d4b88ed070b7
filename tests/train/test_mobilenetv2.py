"""MobileNetV2 (alpha 0.35): architecture, BatchNorm momentum, batch-1 rebuild, augmentation, smoke run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.train import arch_mobilenetv2 as arch

keras = pytest.importorskip("keras")


def _bns(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def test_shape_size_and_batchnorm_momentum():
    model = arch.build((96, 96, 3), 10, bn_momentum=0.9)
    assert model.input_shape == (None, 96, 96, 3) and model.output_shape == (None, 10)
    # alpha 0.35 MobileNetV2 with a 10-class head: ~0.42 M parameters, under 2 MB as float32.
    assert 380_000 <= model.count_params() <= 470_000
    bns = _bns(model)
    assert len(bns) == 52 and all(abs(b.momentum - 0.9) < 1e-9 for b in bns)


def test_momentum_really_drives_the_moving_statistics():
    # One training-mode pass from the same initial weights: the first BatchNorm's moving mean
    # moves (1 - momentum) of the way to the batch mean, so 0.9 moves it 10x as far as 0.99.
    x = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
    moved = {}
    for momentum in (0.9, 0.99):
        keras.utils.set_random_seed(0)
        model = arch.build((32, 32, 3), 4, bn_momentum=momentum)
        model(x, training=True)
        moved[momentum] = np.asarray(_bns(model)[0].moving_mean)
    assert np.abs(moved[0.9]).max() > 0
    np.testing.assert_allclose(moved[0.9], 10 * moved[0.99], rtol=1e-3, atol=1e-7)


def test_rebuilds_with_batch_fixed_at_1():
    model = arch.build((32, 32, 3), 10, bn_momentum=0.9)
    config = model.get_config()
    input_layer = config["layers"][0]
    assert input_layer["class_name"] == "InputLayer"
    input_layer["config"]["batch_shape"] = [1, 32, 32, 3]
    fixed = keras.Model.from_config(config)
    fixed.set_weights(model.get_weights())
    assert fixed.input_shape == (1, 32, 32, 3)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(fixed(x).numpy(), model(x).numpy(), atol=1e-6)


def test_augment_is_seeded_bounded_and_leaves_its_input_alone():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (16, 24, 24, 3)).astype(np.float32)
    before = x.copy()
    a = arch.augment(x, np.random.default_rng(5))
    b = arch.augment(x, np.random.default_rng(5))
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, before)
    assert a.min() >= x.min() and a.max() <= x.max()
    assert not np.allclose(a, x)


@pytest.mark.slow
def test_training_smoke_run_on_the_camera_bench(tmp_path, monkeypatch):
    from edgekit import data as data_lib
    from edgekit.models import load_model
    from edgekit.train import train

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    spec = load_model("mobilenetv2")
    data_lib.prepare(spec, seed=0, limit=18)
    weights, metrics_path = tmp_path / "model.keras", tmp_path / "metrics.json"
    result = train(spec, epochs=1, weights_path=weights, metrics_path=metrics_path)
    metrics = json.loads(metrics_path.read_text())
    assert metrics["n"] == 18 and set(metrics["per_cohort"]) == {"sensor", "lighting"}
    assert {k: g["n"] for k, g in metrics["per_cohort"]["lighting"].items()} == {"bright": 6, "dark": 6, "normal": 6}
    assert 0.0 <= result.accuracy <= 1.0
    assert weights.stat().st_size < 6_000_000
    reloaded = keras.models.load_model(weights)
    assert reloaded.count_params() == result.params
