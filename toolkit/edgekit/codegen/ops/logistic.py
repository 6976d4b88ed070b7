"""LOGISTIC (int8 -> int8, output scale 1/256 and zero point -128), kernel ek_logistic_s8 in
firmware/runtime/src/kernels/activations.c: TFLM's integer reference, its input multiplier and
radius computed here as LogisticPrepare does (4 integer bits)."""

from __future__ import annotations

import math

import numpy as np

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register

INPUT_INTEGER_BITS = 4


@register("LOGISTIC", 14, types=("int8",), kernels=("activations.c",))
def lower_logistic(lw, op) -> None:
    x, y = lw.unary(op)
    xs, xz = lw.per_tensor(op, x.index, "input")
    if y.quant.zero_point[0] != -128 or np.float32(y.quant.scale[0]) != np.float32(1.0 / 256):
        lw.fail(op, f"output quantization (scale {y.quant.scale[0]}, zero point {y.quant.zero_point[0]}) "
                f"must be 1/256 and -128", "the TFLite converter produces this for int8 LOGISTIC")
    real = Q.f32(xs) * float(1 << (31 - INPUT_INTEGER_BITS))
    q, left_shift = math.frexp(real)
    mult = Q.round_half_away(q * (1 << 31))
    if not 0 <= left_shift <= 31 or mult >= (1 << 31):
        lw.fail(op, f"input scale {xs} is out of LOGISTIC's fixed-point range")
    radius = math.floor(((1 << INPUT_INTEGER_BITS) - 1) * (1 << (31 - INPUT_INTEGER_BITS)) / (1 << left_shift))
    params = lw.params("ek_logistic_params_t", f"ek_p{op.index}", input_zero_point=xz,
                       input_range_radius=radius, input_multiplier=mult, input_left_shift=left_shift)
    lw.step(op, f"ek_logistic_s8({params}, {x.numel}, {lw.ptr(x.index)}, {lw.ptr(y.index)});")
