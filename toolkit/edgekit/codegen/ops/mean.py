"""MEAN over height and width (int8 global average pooling), kernel
firmware/runtime/src/kernels/pooling.c."""

from __future__ import annotations

from edgekit.codegen import quant as Q
from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT32

# TFLM's int8 MEAN: older releases divide plainly when input and output share quantization,
# newer ones always go through QuantizedMeanOrSum. The installed tflite-micro decides which
# one we must match; tests/codegen checks both cases against it.
MEAN_SAME_QUANT_PLAIN_DIVISION = False


@register("MEAN", 40, types=("int8",), weights=("int32",), kernels=("pooling.c",),
          options=((0, "keep_dims", "<B", 0),), options_type="ReducerOptions")
def lower_mean(lw, op) -> None:
    ins = lw.inputs(op, 2, 2)
    x = lw.act(op, ins[0], "input")
    axis = lw.const(op, ins[1], INT32, "axis")
    y = lw.act(op, op.outputs[0], "output")
    if len(x.shape) != 4:
        lw.fail(op, f"input shape {x.shape}: only 4-D MEAN over height and width is supported")
    axes = sorted({int(a) + 4 if a < 0 else int(a) for a in axis.data.reshape(-1)})
    if axes != [1, 2]:
        lw.fail(op, f"reduces axes {axis.data.reshape(-1).tolist()}; only [1, 2] "
                f"(global average pooling) is supported")
    n, _, _, c = x.shape
    if y.numel != n * c or y.shape[-1] != c:
        lw.fail(op, f"output shape {y.shape} does not hold {n}x{c} means")
    xs, xz = lw.per_tensor(op, x.index, "input")
    ys, yz = lw.per_tensor(op, y.index, "output")
    mult, shift = Q.quantize_multiplier(Q.f32(xs) / Q.f32(ys))
    same = int(MEAN_SAME_QUANT_PLAIN_DIVISION and xs == ys and xz == yz)
    ish = lw.shape_decl(f"ek_is{op.index}", x.shape)
    lw.step(op, f"ek_mean_hw_s8({ish}, {lw.ptr(x.index)}, {xz}, {yz}, {mult}, {shift}, "
                f"{same}, {lw.ptr(y.index)});")
