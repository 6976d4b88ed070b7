"""RESIZE_BILINEAR cases: upscale and downscale (and mixed), each flag (half_pixel_centers as
tf.image.resize exports it, align_corners, neither), an output of one row, on the graph input
(every int8 value: op_cases.range_ends) and after a conv."""

WANT = {"RESIZE_BILINEAR"}

CASES = [
    {"op": "resize_bilinear", "seed": 311, "in_shape": [4, 5, 3], "size": [7, 11], "in_range": [-1.0, 1.0]},
    {"op": "resize_bilinear", "seed": 312, "in_shape": [9, 8, 2], "size": [4, 3], "in_range": [-2.0, 0.5]},
    {"op": "resize_bilinear", "seed": 313, "in_shape": [5, 6, 2], "size": [9, 4], "mode": "align_corners",
     "in_range": [-1.0, 1.0]},
    {"op": "resize_bilinear", "seed": 314, "in_shape": [6, 7, 3], "size": [3, 13], "mode": "align_corners",
     "in_range": [0.0, 4.0]},
    {"op": "resize_bilinear", "seed": 315, "in_shape": [3, 4, 4], "size": [6, 10], "mode": "asymmetric",
     "in_range": [-1.0, 1.0]},
    {"op": "resize_bilinear", "seed": 316, "in_shape": [7, 9, 2], "size": [3, 5], "mode": "asymmetric",
     "in_range": [-3.0, 3.0]},
    {"op": "resize_bilinear", "seed": 317, "in_shape": [5, 5, 2], "size": [1, 8], "mode": "align_corners",
     "in_range": [-1.0, 1.0]},
    {"op": "resize_bilinear", "seed": 318, "in_shape": [6, 5, 4], "size": [12, 10], "conv": True,
     "in_range": [-1.0, 2.0]},
]
QEMU_SEEDS = (311, 313)


def build(case, shape, rng, weights):
    import tensorflow as tf

    size, mode = case["size"], case.get("mode", "half_pixel")
    w = weights(1, 1, shape[-1], shape[-1])

    def f(x):
        if case.get("conv"):
            x = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME")
        if mode == "half_pixel":
            return tf.image.resize(x, size, method="bilinear")
        return tf.compat.v1.image.resize_bilinear(x, size, align_corners=(mode == "align_corners"),
                                                  half_pixel_centers=False)
    return f
