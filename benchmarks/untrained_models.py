"""Int8 .tflite files of the two reference architectures with untrained weights, for
benchmarks that need the models' shapes and operators but not their accuracy (instruction
counts of int8 kernels hardly depend on the weight values). Written to
build/_untrained/<model>_int8.tflite; the trained models (edgekit convert) are preferred
wherever they exist.

    .venv/bin/python benchmarks/untrained_models.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgekit import resources
from edgekit.models import load_model

ARCH = {"ds-cnn": "edgekit.train.arch_dscnn", "mobilenetv2-0.35": "edgekit.train.arch_mobilenetv2"}


def untrained_int8(model_name: str, seed: int = 0) -> Path:
    import importlib

    import tensorflow as tf

    spec = load_model(model_name)
    out = resources.build_dir() / "_untrained" / f"{model_name}_int8.tflite"
    if out.is_file():
        return out
    arch = importlib.import_module(ARCH[spec.architecture])
    pre = spec.preprocessing
    shape = (49, 10, 1) if pre.kind == "mfcc" else (pre.height, pre.width, pre.channels)
    tf.keras.utils.set_random_seed(seed)
    rng_w = np.random.default_rng(seed + 1)
    model = arch.build(shape, len(spec.labels), spec.training.batchnorm_momentum)
    # Untrained, activations fade through the depth (BatchNorm's initial statistics do not
    # match), the logits are nearly constant and the softmax input scale is too small for
    # the reference kernels: set every BatchNorm's statistics from one batch, and spread the
    # classifier's weights.
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = 0.0
    model(rng_w.normal(0, 1, (16, *shape)).astype(np.float32), training=True)
    dense = [l for l in model.layers if isinstance(l, tf.keras.layers.Dense)][-1]
    k, *rest = dense.get_weights()
    dense.set_weights([rng_w.normal(0, 1.0, k.shape).astype(np.float32), *rest])
    inp = tf.keras.Input(shape, batch_size=1)
    fixed = tf.keras.Model(inp, model(inp))
    rng = np.random.default_rng(seed)
    conv = tf.lite.TFLiteConverter.from_keras_model(fixed)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.normal(0, 1, (1, *shape)).astype(np.float32)] for _ in range(32))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


if __name__ == "__main__":
    for name in sys.argv[1:] or ["kws", "mobilenetv2"]:
        p = untrained_int8(name)
        print(name, p, p.stat().st_size)
