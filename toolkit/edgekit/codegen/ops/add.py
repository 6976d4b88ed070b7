"""ADD (int8, with broadcasting), kernels in firmware/runtime/src/kernels/elementwise.c: equal
shapes take ek_add_s8, others ek_add_broadcast_s8 (the same arithmetic)."""

from __future__ import annotations

from edgekit.codegen.ops import register
from edgekit.codegen.ops.broadcast import add_sub_params, broadcast_decl, operands


@register("ADD", 0, types=("int8",), weights=("int8",), kernels=("elementwise.c",),
          options=((0, "activation", "<b", 0),), options_type="AddOptions", inplace=True)
def lower_add(lw, op) -> None:
    a, b, y = operands(lw, op)
    if list(a.shape) == list(b.shape) == list(y.shape):
        params = add_sub_params(lw, op, a, b, y)
        lw.step(op, f"ek_add_s8({params}, {y.numel}, {lw.ptr(a.index)}, {lw.ptr(b.index)}, "
                    f"{lw.ptr(y.index)});")
        return
    bc = broadcast_decl(lw, op, a, b, y)
    params = add_sub_params(lw, op, a, b, y)
    lw.step(op, f"ek_add_broadcast_s8({params}, {bc}, {lw.ptr(a.index)}, {lw.ptr(b.index)}, "
                f"{lw.ptr(y.index)});")
