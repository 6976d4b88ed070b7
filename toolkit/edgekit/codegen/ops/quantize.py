"""QUANTIZE: float32 -> int8 (the model's float input) and int8 -> int8 (requantization),
kernels in firmware/runtime/src/kernels/quantize.c."""

from __future__ import annotations

import numpy as np

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import FLOAT32, INT8


@register("QUANTIZE", 114, types=("float32->int8", "int8"), kernels=("quantize.c",))
def lower_quantize(lw, op) -> None:
    ins = lw.inputs(op, 1, 1)
    x, y = lw.t(ins[0]), lw.act(op, op.outputs[0], "output")
    if x.numel != y.numel:
        lw.fail(op, "input and output sizes differ")
    ys, yz = lw.per_tensor(op, y.index, "output")
    if x.type == FLOAT32:
        lw.step(op, f"ek_quantize_f32_s8({y.numel}, {lw.ptr(x.index, 'float')}, "
                    f"{float(np.float32(ys))!r}f, {yz}, {lw.ptr(y.index)});")
    elif x.type == INT8:
        xs, xz = lw.per_tensor(op, x.index, "input")
        m, s = Q.quantize_multiplier(Q.f32(xs) / Q.f32(ys))
        lw.step(op, f"ek_requantize_s8({y.numel}, {lw.ptr(x.index)}, {xz}, {m}, {s}, "
                    f"{yz}, {lw.ptr(y.index)});")
    else:
        lw.fail(op, f"quantizes from {x.type_name}; only float32 and int8 inputs")
