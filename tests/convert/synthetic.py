"""Small synthetic models and data for fast converter and interpreter tests.

The models are trained for a few epochs on separable synthetic data, so their logits and
softmax scales look like a real classifier's (an untrained model's near-constant logits make
degenerate quantization parameters).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHAPE = (16, 16, 3)
LABELS = ["a", "b", "c"]

MODEL_YAML = """task: image-classification
labels: [a, b, c]
cohort_fields: [light]
preprocessing: {kind: image, width: 16, height: 16, channels: 3}
weights: model.keras
"""


@dataclass
class SyntheticData:
    X: np.ndarray
    y: np.ndarray
    records: list

    def calibration(self, n: int = 64) -> np.ndarray:
        return self.X[:n]

    def test_set(self, n: int = 120):
        return self.X[-n:], self.y[-n:], self.records[-n:]


def make_data(n: int = 500, seed: int = 0) -> SyntheticData:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(LABELS), n)
    X = rng.normal(0, 0.3, (n, *SHAPE)).astype(np.float32)
    for c in range(len(LABELS)):
        X[y == c, :, :, c] += 0.8
    records = [SimpleNamespace(cohort={"light": ("dim", "bright")[i % 2]}) for i in range(n)]
    return SyntheticData(X, y.astype(np.int64), records)


def build_model(kind: str = "cnn"):
    """kind: 'cnn' (only ops edgekit-micro has, plus a Flatten/Reshape), 'unsupported' (adds a
    LeakyReLU, not in the edgekit-micro op list)."""
    import keras

    L = keras.layers
    keras.utils.set_random_seed(0)
    inp = keras.Input(SHAPE)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x)
    x = L.Conv2D(8, 1)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    if kind == "unsupported":
        x = L.LeakyReLU(negative_slope=0.1)(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Flatten()(x)  # a reshape: with a dynamic batch it brings SHAPE/STRIDED_SLICE/PACK
    x = L.Dense(3)(x)
    x = L.Softmax()(x)
    return keras.Model(inp, x)


def trained_model(data: SyntheticData, kind: str = "cnn"):
    import keras

    m = build_model(kind)
    m.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    m.fit(data.X[:300], data.y[:300], epochs=10, batch_size=32, verbose=0)
    return m


def model_folder(folder: Path, model, yaml_text: str = MODEL_YAML, weights_name: str = "model.keras") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(yaml_text.replace("model.keras", weights_name))
    if model is not None:
        model.save(folder / weights_name)
    return folder
