"""SUB (int8, with broadcasting), kernel ek_sub_s8 in firmware/runtime/src/kernels/elementwise.c:
ADD's arithmetic with the difference of the rescaled inputs."""

from __future__ import annotations

from edgekit.codegen.ops import register
from edgekit.codegen.ops.broadcast import add_sub_params, broadcast_decl, operands


@register("SUB", 41, types=("int8",), weights=("int8",), kernels=("elementwise.c",),
          options=((0, "activation", "<b", 0),), options_type="SubOptions", inplace=True)
def lower_sub(lw, op) -> None:
    a, b, y = operands(lw, op)
    bc = broadcast_decl(lw, op, a, b, y)
    params = add_sub_params(lw, op, a, b, y)
    lw.step(op, f"ek_sub_s8({params}, {bc}, {lw.ptr(a.index)}, {lw.ptr(b.index)}, {lw.ptr(y.index)});")
