"""Randomized single-op cases (deterministic: a fixed seed drives every choice)."""

from __future__ import annotations

import random


def _rng_range(r: random.Random) -> list[float]:
    # Asymmetric input ranges give zero points across the int8 range.
    lo = r.choice([-4.0, -1.0, -0.5, 0.0, 0.2])
    return [lo, lo + r.choice([0.5, 1.0, 3.0, 8.0])]


def random_cases(seed: int = 2026, per_op: int = 5) -> list[dict]:
    r = random.Random(seed)
    cases: list[dict] = []
    s = 100
    for _ in range(per_op):
        s += 1
        dil = r.choice([[1, 1], [1, 1], [2, 1], [2, 2]])
        stride = [1, 1] if dil != [1, 1] else r.choice([[1, 1], [2, 2], [2, 1], [1, 3]])
        cases.append({"op": "conv", "seed": s, "in_shape": [r.randint(3, 12), r.randint(3, 11), r.randint(1, 9)],
                      "kernel": [r.randint(1, 4), r.randint(1, 4)], "cout": r.randint(1, 9),
                      "stride": stride, "dilation": dil, "padding": r.choice(["SAME", "VALID"]),
                      "act": r.choice(["none", "relu", "relu6"]), "in_range": _rng_range(r)})
        s += 1
        dil = r.choice([[1, 1], [1, 1], [2, 2], [1, 2]])
        stride = [1, 1] if dil != [1, 1] else r.choice([[1, 1], [2, 2], [1, 2]])
        cases.append({"op": "dwconv", "seed": s, "in_shape": [r.randint(3, 10), r.randint(3, 10), r.randint(1, 11)],
                      "kernel": [r.randint(1, 4), r.randint(1, 4)], "dm": r.choice([1, 1, 2]),
                      "stride": stride, "dilation": dil, "padding": r.choice(["SAME", "VALID"]),
                      "act": r.choice(["none", "relu", "relu6"]), "in_range": _rng_range(r)})
        s += 1
        cases.append({"op": "fc", "seed": s, "in_shape": [r.randint(1, 70)], "units": r.randint(1, 13),
                      "act": r.choice(["none", "relu"]), "in_range": _rng_range(r)})
        s += 1
        cases.append({"op": "add", "seed": s, "in_shape": [r.randint(2, 7), r.randint(2, 7), r.randint(1, 6)],
                      "act": r.choice(["none", "relu"]), "in_range": _rng_range(r)})
        s += 1
        k = [r.randint(1, 4), r.randint(1, 4)]
        cases.append({"op": r.choice(["avgpool", "maxpool"]), "seed": s,
                      "in_shape": [r.randint(4, 10), r.randint(4, 10), r.randint(1, 5)],
                      "kernel": k, "stride": [r.randint(1, 3), r.randint(1, 3)],
                      "padding": r.choice(["SAME", "VALID"]), "in_range": _rng_range(r)})
        s += 1
        cases.append({"op": "mean", "seed": s, "in_shape": [r.randint(1, 9), r.randint(1, 9), r.randint(1, 12)],
                      "keepdims": r.choice([True, False]), "in_range": _rng_range(r)})
        s += 1
        cases.append({"op": "softmax", "seed": s, "in_shape": [r.randint(2, 40)],
                      "beta": r.choice([1.0, 0.5, 2.0]), "in_range": [-r.choice([1, 5, 20]), r.choice([1, 5, 20])]})
        s += 1
        cases.append({"op": "pad", "seed": s, "in_shape": [r.randint(1, 5), r.randint(1, 5), r.randint(1, 4)],
                      "pads": [[0, 0], [r.randint(0, 2), r.randint(0, 2)], [r.randint(0, 2), r.randint(0, 2)], [0, 0]],
                      "in_range": _rng_range(r)})
    for c in cases:
        _fit_valid(c)
    return cases


def _fit_valid(c: dict) -> None:
    """Grow the input so that VALID padding leaves at least one output pixel."""
    if "kernel" not in c:
        return
    dil = c.get("dilation", [1, 1])
    for d in range(2):
        eff = (c["kernel"][d] - 1) * dil[d] + 1
        c["in_shape"][d] = max(c["in_shape"][d], eff)


# A few fixed cases that pin the shapes of the two reference models' layers.
FIXED_CASES = [
    # KWS first layer: 10x4 kernel, stride 2, on 49x10 MFCC.
    {"op": "conv", "seed": 1, "in_shape": [49, 10, 1], "kernel": [10, 4], "cout": 16,
     "stride": [2, 2], "padding": "SAME", "act": "relu", "in_range": [-3.0, 2.0]},
    # DS-CNN depthwise + pointwise on 25x5x16 (channel count a multiple of 4: DSP fast path).
    {"op": "dwconv", "seed": 2, "in_shape": [25, 5, 16], "kernel": [3, 3], "stride": [1, 1],
     "padding": "SAME", "act": "relu", "in_range": [0.0, 3.0]},
    {"op": "conv", "seed": 3, "in_shape": [7, 5, 16], "kernel": [1, 1], "cout": 24,
     "stride": [1, 1], "padding": "SAME", "act": "relu6", "in_range": [0.0, 6.0]},
    {"op": "fc", "seed": 4, "in_shape": [64], "units": 12, "in_range": [0.0, 2.0]},
    {"op": "softmax", "seed": 5, "in_shape": [12], "in_range": [-8.0, 8.0]},
    {"op": "mean", "seed": 6, "in_shape": [25, 5, 16], "in_range": [0.0, 4.0]},
    # Float in/out: QUANTIZE and DEQUANTIZE around a conv.
    {"op": "conv", "seed": 7, "in_shape": [6, 6, 3], "kernel": [3, 3], "cout": 5, "stride": [2, 2],
     "padding": "SAME", "io": "float"},
    # A small CNN: conv, depthwise, pointwise, residual ADD, max pool, MEAN, FC, softmax.
    {"op": "cnn", "seed": 8, "in_shape": [16, 10, 1], "channels": 8, "units": 6},
    # MobileNetV2-like 3x3 depthwise, stride 2 and 1: interior pixels take the unrolled DSP
    # path, the border the general one; 22 channels leave a tail of two.
    {"op": "dwconv", "seed": 9, "in_shape": [12, 11, 24], "kernel": [3, 3], "stride": [2, 2],
     "padding": "SAME", "act": "relu6", "in_range": [-1.0, 5.0]},
    {"op": "dwconv", "seed": 10, "in_shape": [7, 9, 22], "kernel": [3, 3], "stride": [1, 1],
     "padding": "VALID", "act": "none", "in_range": [-2.0, 1.0]},
    # Memory schedules: 1x1 expansion fused into a stride-2 / stride-1 depthwise, in-place
    # projection, residual ADD; an in-place depthwise -> pointwise -> depthwise chain.
    {"op": "block", "seed": 11, "in_shape": [12, 10, 8], "expand": 3, "stride": [2, 2], "padding": "SAME",
     "cout": 8, "in_range": [-1.0, 2.0]},
    {"op": "block", "seed": 12, "in_shape": [9, 7, 6], "expand": 4, "stride": [1, 1], "padding": "SAME",
     "cout": 6, "residual": True, "in_range": [-1.0, 1.0]},
    {"op": "block", "seed": 13, "in_shape": [11, 9, 8], "stride": [1, 1], "padding": "VALID", "cout": 8,
     "ds": True, "in_range": [0.0, 3.0]},
    # The in-place planar depthwise (depthwise.c, dwconv_planar): a 30x38 map cut into two
    # bands of rows, runs of 38 (a partial last block); a 25x5 map on transposed planes,
    # clamped to [-1, 1] (the clamping blocks).
    {"op": "block", "seed": 14, "in_shape": [32, 40, 8], "stride": [1, 1], "padding": "VALID", "cout": 8,
     "ds": True, "in_range": [-1.0, 2.0]},
    {"op": "block", "seed": 15, "in_shape": [27, 7, 12], "stride": [1, 1], "padding": "VALID", "cout": 12,
     "ds": True, "dw_act": "relu_n1_to_1", "in_range": [0.0, 3.0]},
    # Runs of exactly six (depthwise.c, dwl_rows6: one block a run, 16-byte plane rows) on a
    # SAME 6x6 map, whose plane rows take the one-padding-column gather (dwl_gather_pad1);
    # then with the clamping blocks.
    {"op": "block", "seed": 34, "in_shape": [6, 6, 16], "stride": [1, 1], "padding": "SAME", "cout": 8,
     "ds": True, "in_range": [-1.0, 2.0]},
    {"op": "block", "seed": 35, "in_shape": [6, 6, 16], "stride": [1, 1], "padding": "SAME", "cout": 4,
     "ds": True, "dw_act": "relu_n1_to_1", "in_range": [0.0, 3.0]},
    # SAME on 32 columns (plane rows of 17 words, all from the row): the padded rows' gather
    # in one asm (depthwise.c, dwl_gather_rows_pad1), in bands of rows.
    {"op": "block", "seed": 45, "in_shape": [40, 32, 8], "stride": [1, 1], "padding": "SAME", "cout": 8,
     "ds": True, "in_range": [-1.0, 2.0]},
    # The dsp conv's packed paths: K = 27 (not a multiple of 4, cin 3: per-tap im2col), a
    # dilated SAME window cut by the padding, 25 output pixels (the last pair padded), 7
    # output channels (the last pair padded), no activation (the saturating clamp).
    {"op": "conv", "seed": 30, "in_shape": [5, 5, 3], "kernel": [3, 3], "cout": 7, "stride": [1, 1],
     "dilation": [2, 1], "padding": "SAME", "act": "none", "in_range": [-2.0, 1.0]},
    # cin 8: whole filter rows as one contiguous run where inside, per tap at the border;
    # stride 1x2, 3 output channels, ReLU6 (the two-sided clamp).
    {"op": "conv", "seed": 31, "in_shape": [6, 9, 8], "kernel": [2, 3], "cout": 3, "stride": [1, 2],
     "padding": "SAME", "act": "relu6", "in_range": [-1.0, 4.0]},
    # The dsp conv's ring of widened rows with an odd filter row (kw * cin = 3) and an even
    # kh: the rows' last taps paired across rows; odd output width (pairs straddle rows).
    {"op": "conv", "seed": 33, "in_shape": [9, 12, 1], "kernel": [2, 3], "cout": 4, "stride": [1, 2],
     "padding": "VALID", "act": "relu", "in_range": [-1.0, 2.0]},
    # The dsp pointwise layer in one asm (conv.c, pointwise_stream_pairs): 25 pixels (the odd
    # last one after it, in C: mac_stream_rq1), 7 channels (a tail of one); 21 pixels, 5
    # channels (a tail of two), cin 12 (an odd number of groups of four).
    {"op": "conv", "seed": 36, "in_shape": [5, 5, 8], "kernel": [1, 1], "cout": 7, "stride": [1, 1],
     "padding": "VALID", "act": "relu", "in_range": [-1.0, 2.0]},
    {"op": "conv", "seed": 37, "in_shape": [3, 7, 12], "kernel": [1, 1], "cout": 5, "stride": [1, 1],
     "padding": "VALID", "act": "none", "in_range": [-2.0, 2.0]},
    # The RGB first layer's row asm (conv.c, ring_row_stream_3x3c3: 3x3 stride 2 on three
    # channels, an even output width): 8 channels (two triples, a tail of two), ReLU6; VALID,
    # 7 channels (a tail of one).
    {"op": "conv", "seed": 41, "in_shape": [10, 12, 3], "kernel": [3, 3], "cout": 8, "stride": [2, 2],
     "padding": "SAME", "act": "relu6", "in_range": [-1.0, 1.0]},
    {"op": "conv", "seed": 42, "in_shape": [9, 10, 3], "kernel": [3, 3], "cout": 7, "stride": [2, 2],
     "padding": "VALID", "act": "none", "in_range": [-2.0, 2.0]},
    # The dsp average pool: four channels a word (SADD16 of SXTB16 lanes) and three after the
    # last group, windows cut by the SAME padding (their counts differ).
    {"op": "avgpool", "seed": 32, "in_shape": [9, 7, 7], "kernel": [3, 3], "stride": [2, 2], "padding": "SAME",
     "in_range": [-2.0, 3.0]},
]


# The ops added after the first two models (issue 13): one case each, cheap on the host (LOGISTIC
# and HARD_SWISH on more than 256 elements, their kernels' table path, and on fewer); the
# "elementwise" and "hs_resize" cases hold them all in two graphs for the QEMU kernel test (one
# run per graph and variant).
NEW_OP_CASES = [
    {"op": "mul", "seed": 201, "in_shape": [5, 4, 6], "act": "relu", "in_range": [-1.0, 3.0]},
    {"op": "sub", "seed": 202, "in_shape": [4, 5, 7], "in_range": [-2.0, 1.0]},
    {"op": "sub", "seed": 203, "in_shape": [3, 3, 5], "order": 1, "in_range": [0.0, 4.0]},
    {"op": "add_bc", "seed": 204, "in_shape": [6, 3, 4], "in_range": [-4.0, 4.0]},
    {"op": "maximum", "seed": 205, "in_shape": [4, 4, 6], "in_range": [-1.0, 2.0]},
    {"op": "minimum", "seed": 206, "in_shape": [3, 5, 5], "order": 1, "in_range": [-3.0, 0.5]},
    {"op": "concat", "seed": 207, "in_shape": [4, 3, 5], "cout": 3, "in_range": [-1.0, 1.0]},
    {"op": "concat", "seed": 208, "in_shape": [4, 3, 2], "cout": 2, "axis": 2, "in_range": [0.0, 2.0]},
    {"op": "squeeze", "seed": 209, "in_shape": [3, 4, 6], "in_range": [-1.0, 1.0], "as": "SQUEEZE"},
    {"op": "hard_swish", "seed": 211, "in_shape": [5, 8, 8], "in_range": [-4.0, 4.0]},
    {"op": "hard_swish", "seed": 212, "in_shape": [3, 3, 8], "in_range": [-1.0, 0.5]},
    {"op": "resize_nearest", "seed": 213, "in_shape": [4, 5, 3], "size": [7, 11], "in_range": [-1.0, 1.0]},
    {"op": "resize_nearest", "seed": 214, "in_shape": [5, 6, 2], "size": [9, 4], "mode": "align_corners",
     "in_range": [-1.0, 1.0]},
    {"op": "resize_nearest", "seed": 215, "in_shape": [3, 4, 4], "size": [6, 10], "mode": "asymmetric",
     "in_range": [-1.0, 1.0]},
    {"op": "strided_slice", "seed": 217, "in_shape": [7, 6, 5], "in_range": [-1.0, 1.0]},
    {"op": "strided_slice", "seed": 218, "in_shape": [4, 8, 3], "form": "shrink", "in_range": [-1.0, 1.0]},
    {"op": "transpose_conv", "seed": 219, "in_shape": [4, 3, 5], "kernel": [3, 3], "cout": 6,
     "stride": [2, 2], "padding": "SAME", "in_range": [-1.0, 2.0], "bias": True},
    {"op": "transpose_conv", "seed": 220, "in_shape": [3, 4, 3], "kernel": [2, 3], "cout": 4,
     "stride": [2, 1], "padding": "VALID", "in_range": [-2.0, 1.0]},
    {"op": "logistic", "seed": 221, "in_shape": [6, 5, 10], "in_range": [-4.0, 4.0]},
    {"op": "logistic", "seed": 222, "in_shape": [3, 3, 4], "in_range": [-0.5, 0.3]},
    {"op": "hs_resize", "seed": 216, "in_shape": [6, 6, 8], "size": [8, 9], "in_range": [-3.0, 3.0],
     "slice": True},
    {"op": "elementwise", "seed": 210, "in_shape": [6, 5, 8], "in_range": [-2.0, 2.0], "as": "SQUEEZE"},
]
