"""RESIZE_NEAREST_NEIGHBOR (int8), kernel ek_resize_nearest_s8 in
firmware/runtime/src/kernels/reshape.c: a gather of whole pixels whose source rows and columns
are computed here with TFLM's float32 arithmetic (align_corners, half_pixel_centers)."""

from __future__ import annotations

import math

import numpy as np

from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT32


def nearest(out_size: int, in_size: int, align_corners: bool, half_pixel_centers: bool) -> list[int]:
    """TFLM's GetNearestNeighbor for every output index, in float32 as the kernel computes it."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5 if half_pixel_centers else 0.0)
    out = []
    for i in range(out_size):
        v = f32(f32(i) + offset) * scale
        if align_corners:   # TfLiteRound: half away from zero
            k = int(math.floor(float(v) + 0.5)) if v >= 0 else -int(math.floor(-float(v) + 0.5))
        else:
            k = int(math.floor(float(v)))
        k = min(k, in_size - 1)
        if half_pixel_centers:
            k = max(0, k)
        out.append(k)
    return out


def operands(lw, op):
    """What the RESIZE ops share: the 4-D int8 input and output (one quantization: they move or
    interpolate raw int8 values), the constant size [h, w] that the output shape must match, and
    the align_corners and half_pixel_centers options. Returns (x, y, (h, w), align, half)."""
    ins = lw.inputs(op, 2, 2)
    x = lw.act(op, ins[0], "input")
    size = lw.const(op, ins[1], INT32, "size")
    y = lw.act(op, op.outputs[0], "output")
    if len(x.shape) != 4 or len(y.shape) != 4:
        lw.fail(op, f"resizing needs 4-D tensors, got {x.shape} -> {y.shape}")
    hw = [int(v) for v in size.data.reshape(-1)]
    n, ih, iw, c = x.shape
    if len(hw) != 2 or [n, *hw, c] != list(y.shape):
        lw.fail(op, f"size {hw} and output shape {y.shape} disagree for input {x.shape}")
    lw.same_quant(op, x, y, f"{op.name} works on the raw int8 values")
    return x, y, (hw[0], hw[1]), bool(op.options.get("align_corners", 0)), bool(op.options.get("half_pixel_centers", 0))


@register("RESIZE_NEAREST_NEIGHBOR", 97, types=("int8",), weights=("int32",), kernels=("reshape.c",),
          options=((0, "align_corners", "<B", 0), (1, "half_pixel_centers", "<B", 0)),
          options_type="ResizeNearestNeighborOptions")
def lower_resize_nearest_neighbor(lw, op) -> None:
    x, y, hw, align, half = operands(lw, op)
    k = op.index
    rows = lw.const_array(np.array(nearest(hw[0], x.shape[1], align, half)), "int32", name=f"ek_rows{k}")
    cols = lw.const_array(np.array(nearest(hw[1], x.shape[2], align, half)), "int32", name=f"ek_cols{k}")
    ish = lw.shape_decl(f"ek_is{k}", x.shape)
    osh = lw.shape_decl(f"ek_os{k}", y.shape)
    lw.step(op, f"ek_resize_nearest_s8({ish}, {lw.ptr(x.index)}, {rows}, {cols}, {osh}, "
                f"{lw.ptr(y.index)});")
