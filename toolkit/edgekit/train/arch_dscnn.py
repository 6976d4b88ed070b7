"""DS-CNN for keyword spotting, the MLPerf Tiny KWS shape (~24 k parameters, ~2.7 M MACs).

Conv 64x(10x4) stride 2 -> 4 x [depthwise 3x3 -> pointwise 64] -> average pool -> dense.
Every conv is followed by BatchNorm and ReLU; only builtin int8-friendly ops (CONV_2D,
DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, FULLY_CONNECTED, SOFTMAX), so every runtime can run it.
"""

from __future__ import annotations

import numpy as np

FILTERS = 64
BLOCKS = 4


def build(input_shape, n_classes: int, bn_momentum: float = 0.9):
    import keras
    from keras import layers

    reg = keras.regularizers.l2(1e-4)

    def bn_relu(x):
        # Momentum well below Keras's 0.99: the moving statistics must catch up within a few
        # hundred steps, or evaluation of a short run sees stale statistics (near chance).
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        return layers.ReLU()(x)

    inp = keras.Input(shape=tuple(input_shape), name="mfcc")
    x = layers.Conv2D(FILTERS, (10, 4), strides=(2, 2), padding="same", kernel_regularizer=reg)(inp)
    x = bn_relu(x)
    x = layers.Dropout(0.2)(x)
    for _ in range(BLOCKS):
        x = layers.DepthwiseConv2D((3, 3), padding="same", depthwise_regularizer=reg)(x)
        x = bn_relu(x)
        x = layers.Conv2D(FILTERS, (1, 1), padding="same", kernel_regularizer=reg)(x)
        x = bn_relu(x)
    x = layers.Dropout(0.4)(x)
    x = layers.AveragePooling2D(pool_size=tuple(int(d) for d in x.shape[1:3]))(x)
    x = layers.Flatten()(x)
    out = layers.Dense(n_classes, activation="softmax", name="scores")(x)
    return keras.Model(inp, out, name="ds_cnn")


def macs(input_shape, n_classes: int) -> int:
    """Multiply-accumulates of one inference (conv, depthwise, pointwise, dense)."""
    h = -(-input_shape[0] // 2)
    w = -(-input_shape[1] // 2)
    conv1 = h * w * FILTERS * 10 * 4 * input_shape[2]
    block = h * w * FILTERS * 9 + h * w * FILTERS * FILTERS
    return conv1 + BLOCKS * block + FILTERS * n_classes


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Feature-domain augmentation for a batch [N, frames, coeffs, 1]:
    time shift of up to +-100 ms (5 frames, the gap filled with the clip's quietest frame),
    a little additive noise on the coefficients, and an occasional time mask (SpecAugment)."""
    x = x.copy()
    n, frames = x.shape[0], x.shape[1]
    for i in range(n):
        s = int(rng.integers(-5, 6))
        if s:
            quiet = x[i, np.argmin(x[i, :, 0, 0])]
            x[i] = np.roll(x[i], s, axis=0)
            if s > 0:
                x[i, :s] = quiet
            else:
                x[i, s:] = quiet
        if rng.random() < 0.3:
            t = int(rng.integers(1, 6))
            t0 = int(rng.integers(0, frames - t))
            x[i, t0:t0 + t] = x[i, np.argmin(x[i, :, 0, 0])]
    scale = x.std(axis=(0, 1), keepdims=True) * 0.05
    x += rng.normal(size=x.shape).astype(np.float32) * scale
    return x
