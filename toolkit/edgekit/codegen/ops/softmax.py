"""SOFTMAX (int8 -> int8, output scale 1/256 and zero point -128), kernel
firmware/runtime/src/kernels/softmax.c."""

from __future__ import annotations

import math

import numpy as np

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register


@register("SOFTMAX", 25, types=("int8",), kernels=("softmax.c",), options=((0, "beta", "<f", 0.0),),
          options_type="SoftmaxOptions")
def lower_softmax(lw, op) -> None:
    ins = lw.inputs(op, 1, 1)
    x = lw.act(op, ins[0], "input")
    y = lw.act(op, op.outputs[0], "output")
    if list(x.shape) != list(y.shape) or not x.shape:
        lw.fail(op, f"input shape {x.shape} and output shape {y.shape} differ")
    if y.quant.zero_point[0] != -128 or np.float32(y.quant.scale[0]) != np.float32(1.0 / 256):
        lw.fail(op, f"output quantization (scale {y.quant.scale[0]}, zero point "
                f"{y.quant.zero_point[0]}) must be 1/256 and -128",
                "the TFLite converter produces this for int8 softmax")
    beta = float(op.options.get("beta", 0.0))
    if not (math.isfinite(beta) and beta > 0):
        lw.fail(op, f"beta {beta} must be finite and > 0")
    mult, left_shift, diff_min = Q.softmax_params(beta, x.quant.scale[0])
    if not 0 <= left_shift <= 31 or mult <= 0:
        lw.fail(op, f"input scale {x.quant.scale[0]} x beta {beta} is out of range")
    depth = x.shape[-1]
    params = lw.params("ek_softmax_params_t", f"ek_p{op.index}", input_multiplier=mult,
                       input_left_shift=left_shift, diff_min=diff_min)
    lw.step(op, f"ek_softmax_s8({params}, {x.numel // depth}, {depth}, {lw.ptr(x.index)}, "
                f"{lw.ptr(y.index)});")
