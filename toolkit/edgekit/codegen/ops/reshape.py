"""RESHAPE (int8 or float32): the output takes the input's memory (no copy) unless the input is
a constant; kernel ek_copy in firmware/runtime/src/kernels/reshape.c."""

from __future__ import annotations

from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import FLOAT32, INT8


def lower_alias(lw, op, n_inputs_max: int) -> None:
    """An op that only relabels the shape (RESHAPE, SQUEEZE): same bytes, aliased."""
    ins = lw.inputs(op, 1, n_inputs_max)
    x, y = lw.t(ins[0]), lw.t(op.outputs[0])
    if x.type != y.type or x.numel != y.numel:
        lw.fail(op, f"{x.type_name}{x.shape} -> {y.type_name}{y.shape} changes the data")
    if x.type not in (INT8, FLOAT32):
        lw.fail(op, f"tensor type {x.type_name} is not supported")
    if x.data is None:
        lw.alias[y.index] = x.index   # same bytes: no copy, no memory
    lw.step(op, f"ek_copy({x.nbytes}u, {lw.ptr(x.index)}, {lw.ptr(y.index)});")


@register("RESHAPE", 22, types=("int8", "float32"), weights=("int32",), kernels=("reshape.c",))
def lower_reshape(lw, op) -> None:
    lower_alias(lw, op, 2)
