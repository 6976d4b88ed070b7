"""Training: the DS-CNN architecture and a smoke run of seconds on a tiny real dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.train import arch_dscnn, per_cohort_accuracy, train
from tests.data.kws_small import LIMIT, kws_small, kws_small_cache  # noqa: F401 (fixtures)


def test_dscnn_is_mlperf_tiny_sized():
    import keras

    model = arch_dscnn.build((49, 10, 1), 12, bn_momentum=0.9)
    assert 22_000 <= model.count_params() <= 28_000
    assert 2.4e6 <= arch_dscnn.macs((49, 10, 1), 12) <= 3.0e6
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 9 and all(abs(b.momentum - 0.9) < 1e-9 for b in bns)
    assert model.output_shape == (None, 12)


def test_augment_keeps_shape_and_changes_batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 49, 10, 1)).astype(np.float32)
    y = arch_dscnn.augment(x, rng)
    assert y.shape == x.shape and y.dtype == np.float32
    assert not np.array_equal(x, y)
    assert np.array_equal(x, x.copy())  # the input batch is not modified in place


def test_training_smoke_run(kws_small, tmp_path):
    import keras

    spec, ds = kws_small
    weights, metrics_path = tmp_path / "model.keras", tmp_path / "metrics.json"
    result = train(spec, epochs=1, seed=1, weights_path=weights, metrics_path=metrics_path)
    metrics = json.loads(metrics_path.read_text())
    assert metrics["n"] == LIMIT and metrics["epochs"] == 1 and metrics["seed"] == 1
    assert metrics["data_hash"] == ds.data_hash
    assert set(metrics["per_cohort"]) == set(spec.cohort_fields)
    for groups in metrics["per_cohort"].values():
        assert sum(g["n"] for g in groups.values()) == LIMIT
        # Per-cohort accuracies add back up to the overall accuracy.
        assert np.isclose(sum(g["n"] * g["accuracy"] for g in groups.values()) / LIMIT, metrics["accuracy"])
    # The saved weights reproduce the measured accuracy.
    from edgekit.data import split_arrays

    X, y, _ = split_arrays(spec, "test")
    model = keras.models.load_model(weights)
    acc = float(np.mean(np.argmax(model.predict(X, verbose=0), -1) == y))
    assert acc == pytest.approx(result.accuracy)
    assert not list(tmp_path.glob(".*tmp*"))


def test_unknown_architecture_and_bad_epochs_are_user_errors(kws_small, tmp_path):
    spec, _ = kws_small
    with pytest.raises(UserError, match="architecture"):
        train(spec.model_copy(update={"architecture": "resnet-9000"}), weights_path=tmp_path / "w.keras")
    with pytest.raises(UserError, match="epochs"):
        train(spec, epochs=0, weights_path=tmp_path / "w.keras")


def test_per_cohort_accuracy_groups_and_orders():
    from edgekit.data import SampleRecord

    recs = [SampleRecord(str(i), "x", 0, "test", {"snr_db": [5.0, 10.0, 40.0][i % 3], "mic": "flat"})
            for i in range(6)]
    out = per_cohort_accuracy(np.array([1, 0, 1, 1, 1, 1], bool), recs, ["snr_db", "mic"])
    assert list(out["snr_db"]) == ["5", "10", "40"]
    assert out["snr_db"]["10"] == {"n": 2, "accuracy": 0.5}
    assert out["mic"]["flat"]["n"] == 6
