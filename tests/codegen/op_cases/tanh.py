"""TANH cases: after a conv (the usual place) and on the graph input (each input holds every
int8 value: op_cases.range_ends), over input scales from fine (no saturation) to coarse (most
values past the saturation radius), and asymmetric zero points; up to 256 elements (computed
one by one) and more (through the kernel's table of the 256 int8 values)."""

WANT = {"TANH"}

CASES = [
    {"op": "tanh", "seed": 301, "in_shape": [4, 5, 6], "in_range": [-4.0, 4.0]},
    {"op": "tanh", "seed": 302, "in_shape": [3, 3, 4], "in_range": [-0.5, 0.3]},
    {"op": "tanh", "seed": 303, "in_shape": [16, 24], "in_range": [-3.0, 1.0], "direct": True},
    {"op": "tanh", "seed": 304, "in_shape": [8, 32], "in_range": [-0.05, 0.2], "direct": True},
    {"op": "tanh", "seed": 305, "in_shape": [3, 128], "in_range": [-24.0, 40.0], "direct": True},
]
QEMU_SEEDS = (301, 303)


def build(case, shape, rng, weights):
    import tensorflow as tf

    if case.get("direct"):
        return lambda x: tf.math.tanh(x)
    w = weights(1, 1, shape[-1], shape[-1])
    return lambda x: tf.math.tanh(tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME"))
