"""DEQUANTIZE: int8 -> float32 (the model's float output), kernel
firmware/runtime/src/kernels/quantize.c."""

from __future__ import annotations

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import FLOAT32


@register("DEQUANTIZE", 6, types=("int8->float32",), kernels=("quantize.c",))
def lower_dequantize(lw, op) -> None:
    ins = lw.inputs(op, 1, 1)
    x = lw.act(op, ins[0], "input")
    y = lw.act(op, op.outputs[0], "output", FLOAT32)
    if x.numel != y.numel:
        lw.fail(op, "input and output sizes differ")
    xs, xz = lw.per_tensor(op, x.index, "input")
    lw.step(op, f"ek_dequantize_s8_f32({x.numel}, {lw.ptr(x.index)}, {Q.f32(xs)!r}, {xz}, "
                f"{lw.ptr(y.index, 'float')});")
