"""MobileNetV2, alpha 0.35, for the camera bench (model.yaml `architecture: mobilenetv2-0.35`).

Keras's own MobileNetV2 with weights=None (nothing is downloaded), trained from scratch.
BatchNorm momentum comes from model.yaml: Keras's default 0.99 leaves moving statistics far
from the data after a short run, and evaluation is then near chance. The batch dimension is
left free (None), so the converter can rebuild the model at batch 1.
"""

from __future__ import annotations

import numpy as np

ALPHA = 0.35


def build(input_shape, n_classes: int, bn_momentum: float):
    import keras

    base = keras.applications.MobileNetV2(
        input_shape=tuple(input_shape), alpha=ALPHA, include_top=False, weights=None, pooling="avg")
    x = keras.layers.Dropout(0.2, name="dropout")(base.output)
    out = keras.layers.Dense(n_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(base.input, out, name="mobilenetv2_035")
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    return model


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A batch of normalised model inputs [N, H, W, C] -> augmented copy.

    What the camera simulation varies but a finite training set samples sparsely: framing
    (random shift up to 1/12 of the side, edges replicated, like a random crop), mirror images,
    and exposure/white balance (mild global contrast, brightness and per-channel gain jitter, in
    normalised units around mid-grey). Kept mild: the rendered cohorts already vary exposure
    and colour, and short runs converge faster on lightly augmented data.
    """
    x = np.array(x, dtype=np.float32, copy=True)
    n, h, w, c = x.shape
    # Keep augmented inputs inside the range the sensor + normalisation can give.
    lo, hi = float(x.min()), float(x.max())
    flip = rng.random(n) < 0.5
    x[flip] = x[flip, :, ::-1]
    max_shift_y, max_shift_x = h // 12, w // 12
    padded = np.pad(x, ((0, 0), (max_shift_y, max_shift_y), (max_shift_x, max_shift_x), (0, 0)), mode="edge")
    dy = rng.integers(0, 2 * max_shift_y + 1, n)
    dx = rng.integers(0, 2 * max_shift_x + 1, n)
    for i in range(n):
        x[i] = padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
    contrast = rng.uniform(0.9, 1.1, (n, 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(-0.1, 0.1, (n, 1, 1, 1)).astype(np.float32)
    channel_gain = rng.uniform(0.95, 1.05, (n, 1, 1, c)).astype(np.float32)
    x = x * contrast * channel_gain + brightness
    return np.clip(x, lo, hi).astype(np.float32)
