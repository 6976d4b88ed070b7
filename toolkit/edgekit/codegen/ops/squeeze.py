"""SQUEEZE (int8 or float32): drops size-1 dimensions, the same bytes; aliased like RESHAPE
(ops/reshape.py), kernel ek_copy in firmware/runtime/src/kernels/reshape.c."""

from __future__ import annotations

from edgekit.codegen.ops import register
from edgekit.codegen.ops.reshape import lower_alias


@register("SQUEEZE", 43, types=("int8", "float32"), kernels=("reshape.c",))
def lower_squeeze(lw, op) -> None:
    ins = lw.inputs(op, 1, 1)
    x, y = lw.t(ins[0]), lw.t(op.outputs[0])
    if [d for d in x.shape if d != 1] != [d for d in y.shape if d != 1]:
        lw.fail(op, f"squeezes {x.shape} into {y.shape}, which moves data",
                "SQUEEZE only drops size-1 dimensions")
    lower_alias(lw, op, 1)
