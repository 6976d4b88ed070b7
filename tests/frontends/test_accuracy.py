"""variant_accuracy: the same int8 model fed by the reference and by a variant's C frontend.

A tiny model with fixed weights that classifies "more red than blue" makes the expected
outcome known: the default frontend changes nothing, swapping red and blue flips it."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.frontends.accuracy import variant_accuracy


def _red_vs_blue_tflite(path, spec):
    import tensorflow as tf

    h, w, c = spec.output_shape
    inp = tf.keras.Input((h, w, c), batch_size=1)
    x = tf.keras.layers.GlobalAveragePooling2D()(inp)
    dense = tf.keras.layers.Dense(2, use_bias=False)
    out = dense(x)
    model = tf.keras.Model(inp, out)
    dense.set_weights([np.array([[-1.0, 1.0], [0.0, 0.0], [1.0, -1.0]], np.float32)])  # class 1: red > blue
    rng = np.random.default_rng(0)

    def rep():
        for _ in range(20):
            # flat colours: the pooled means span [-1, 1], so the output range is calibrated
            yield [np.broadcast_to(rng.uniform(-1, 1, (1, 1, 1, c)), (1, h, w, c)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path


@pytest.mark.slow
def test_variant_accuracy_on_a_colour_model(tmp_path, mobilenet):
    tfl = _red_vs_blue_tflite(tmp_path / "rb.tflite", mobilenet.preprocessing)
    rng = np.random.default_rng(1)
    raws, labels, cohorts = [], [], []
    for i in range(24):
        red = i % 2 == 1
        base = np.full(3, rng.uniform(40, 120))
        base[1] = rng.uniform(40, 200)
        base[0 if red else 2] += rng.uniform(40, 100)  # a clear margin of 40+ levels
        raws.append(np.clip(base[None, None, :] + rng.normal(0, 5, (120, 160, 3)), 0, 255).astype(np.uint8))
        labels.append(int(red))
        cohorts.append({"sensor": "a" if i < 12 else "b"})
    default = variant_accuracy(mobilenet, tfl, "default", raws, labels, cohorts)
    assert default.overall.n == 24 and default.overall.reference_accuracy == 1.0
    assert default.overall.delta_points == 0.0 and default.overall.prediction_changed == 0.0
    swapped = variant_accuracy(mobilenet, tfl, "bgr", raws, labels, cohorts)
    assert swapped.overall.reference_accuracy == 1.0 and swapped.overall.variant_accuracy == 0.0
    assert swapped.overall.delta_points == -100.0
    assert set(swapped.per_cohort["sensor"]) == {"a", "b"}
    assert all(c.n == 12 and c.delta_points == -100.0 for c in swapped.per_cohort["sensor"].values())
