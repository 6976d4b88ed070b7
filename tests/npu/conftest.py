"""Small synthetic models for the NPU tests: built here, in seconds, from fixed seeds."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

INPUT_SHAPE = (24, 24, 3)


def _small_keras(path: Path, softmax: str = "softmax"):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inp = keras.Input(INPUT_SHAPE)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(16, 1, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(4)
    x = dense(x)
    if softmax == "log_softmax":  # an op Vela keeps on the CPU
        out = keras.layers.Lambda(lambda t: tf.nn.log_softmax(t))(x)
    else:
        out = keras.layers.Softmax()(x)
    model = keras.Model(inp, out)
    # Sharpen the random classifier: near-uniform scores make every argmax a coin toss.
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 20.0, bias])
    model.save(path)
    return model


def _int8_tflite(model, path: Path, calibration: np.ndarray) -> Path:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([calibration[i:i + 1]] for i in range(len(calibration)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path


@pytest.fixture(scope="session")
def calibration() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (48, *INPUT_SHAPE)).astype(np.float32)


@pytest.fixture(scope="session")
def small_keras(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "small.keras"
    _small_keras(path)
    return path


@pytest.fixture(scope="session")
def small_tflite(tmp_path_factory, calibration) -> Path:
    d = tmp_path_factory.mktemp("tflite")
    model = _small_keras(d / "small.keras")
    return _int8_tflite(model, d / "model_int8.tflite", calibration)


@pytest.fixture(scope="session")
def fallback_tflite(tmp_path_factory, calibration) -> Path:
    d = tmp_path_factory.mktemp("tflite_fb")
    model = _small_keras(d / "fb.keras", softmax="log_softmax")
    return _int8_tflite(model, d / "model_int8.tflite", calibration)
