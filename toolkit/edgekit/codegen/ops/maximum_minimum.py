"""MAXIMUM and MINIMUM (int8, with broadcasting), kernels ek_maximum_s8/ek_minimum_s8 in
firmware/runtime/src/kernels/elementwise.c: the raw int8 values compared, as TFLM does, so the
inputs and the output must share one scale and zero point (the converter makes them so)."""

from __future__ import annotations

from edgekit.codegen.ops import register
from edgekit.codegen.ops.broadcast import broadcast_decl, operands


def lower_max_min(lw, op, fn: str) -> None:
    a, b, y = operands(lw, op)
    for t in (a, b):
        lw.same_quant(op, t, y, "MAXIMUM/MINIMUM compare raw int8 values: quantize inputs and "
                                "output with one scale and zero point")
    bc = broadcast_decl(lw, op, a, b, y)
    lw.step(op, f"{fn}({bc}, {lw.ptr(a.index)}, {lw.ptr(b.index)}, {lw.ptr(y.index)});")


@register("MAXIMUM", 55, types=("int8",), weights=("int8",), kernels=("elementwise.c",), inplace=True)
def lower_maximum(lw, op) -> None:
    lower_max_min(lw, op, "ek_maximum_s8")


@register("MINIMUM", 57, types=("int8",), weights=("int8",), kernels=("elementwise.c",), inplace=True)
def lower_minimum(lw, op) -> None:
    lower_max_min(lw, op, "ek_minimum_s8")
