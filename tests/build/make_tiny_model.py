"""Makes tests/build/data/tiny_kws_int8.tflite: a small DS-CNN-like int8 model with the KWS
input shape (49x10x1, 12 classes), so build tests run in seconds without training.
Run: .venv/bin/python tests/build/make_tiny_model.py"""

from pathlib import Path

import numpy as np


def main() -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    inp = tf.keras.Input((49, 10, 1), batch_size=1)
    x = tf.keras.layers.Conv2D(16, (5, 3), strides=2, padding="same", activation="relu")(inp)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(16, 1, activation="relu")(x)
    x = tf.keras.layers.AveragePooling2D((25, 5))(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(12)(x)
    out = tf.keras.layers.Softmax()(x)
    model = tf.keras.Model(inp, out)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.normal(0, 3, (1, 49, 10, 1)).astype(np.float32)] for _ in range(50))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    out_path = Path(__file__).parent / "data" / "tiny_kws_int8.tflite"
    out_path.write_bytes(conv.convert())
    print(out_path, out_path.stat().st_size)


if __name__ == "__main__":
    main()
