"""CONCATENATION (int8), kernel ek_concat_s8 in firmware/runtime/src/kernels/reshape.c: the
inputs' bytes interleaved along the axis. TFLM copies int8 data without requantizing, so every
input must share the output's scale and zero point (the converter makes them so)."""

from __future__ import annotations

import math

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT8

MAX_INPUTS = 64


@register("CONCATENATION", 2, types=("int8",), weights=("int8",), kernels=("reshape.c",),
          options=((0, "axis", "<i", 0), (1, "activation", "<b", 0)),
          options_type="ConcatenationOptions")
def lower_concatenation(lw, op) -> None:
    ins = lw.inputs(op, 1, MAX_INPUTS)
    y = lw.act(op, op.outputs[0], "output")
    xs = [lw.t(i) for i in ins]
    rank = len(y.shape)
    axis = int(op.options.get("axis", 0))
    if not -rank <= axis < rank:
        lw.fail(op, f"axis {axis} is outside the output's rank {rank}")
    axis %= rank
    if int(op.options.get("activation", 0)) != Q.ACT_NONE:
        lw.fail(op, "a fused activation on int8 CONCATENATION", "TFLite Micro refuses it too")
    for x in xs:
        if x.type != INT8:
            lw.fail(op, f"input {lw.tname(x.index)} is {x.type_name}, expected int8")
        lw.per_tensor(op, x.index, "input")
        lw.same_quant(op, x, y, "int8 CONCATENATION copies bytes: quantize every input like the output")
        if len(x.shape) != rank or any(d != e for k, (d, e) in enumerate(zip(x.shape, y.shape)) if k != axis):
            lw.fail(op, f"input {lw.tname(x.index)} has shape {x.shape}, which does not concatenate "
                    f"into {y.shape} along axis {axis}")
    if sum(x.shape[axis] for x in xs) != y.shape[axis]:
        lw.fail(op, f"inputs give {sum(x.shape[axis] for x in xs)} along axis {axis}, the output has "
                f"{y.shape[axis]}")
    outer = math.prod(y.shape[:axis])
    inner = math.prod(y.shape[axis + 1:])
    ptrs = ", ".join(f"(const int8_t *){lw.ptr(x.index)}" for x in xs)
    sizes = ", ".join(str(x.shape[axis] * inner) for x in xs)
    lw.step(op, f"ek_concat_s8({outer}, {len(xs)}, (const int8_t *const[]){{{ptrs}}}, "
                f"(const int32_t[]){{{sizes}}}, {lw.ptr(y.index)});")
