"""The MLPerf Tiny anomaly-detection model (a fully connected autoencoder on 640 log-mel
values: 4 x Dense 128 + BN + ReLU, an 8-wide bottleneck, 4 x Dense 128 + BN + ReLU, Dense 640),
built from Keras with seeded random weights and quantized to int8 by TF's converter: an
architecture the repository does not ship, and not a classifier (its output is 640 values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUTS = 640


def make_autoencoder_int8(out_path: Path, seed: int = 0) -> Path:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    inp = tf.keras.Input((INPUTS,), batch_size=1)
    x = inp
    for width in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = tf.keras.layers.Dense(width)(x)
        x = tf.keras.layers.BatchNormalization()(x)
        x = tf.keras.layers.ReLU()(x)
    out = tf.keras.layers.Dense(INPUTS)(x)
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(seed)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.normal(0, 1, (1, INPUTS)).astype(np.float32)] for _ in range(32))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(conv.convert())
    return out_path
