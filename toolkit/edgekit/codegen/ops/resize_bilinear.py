"""RESIZE_BILINEAR (int8), kernel ek_resize_bilinear_s8 in
firmware/runtime/src/kernels/resize_bilinear.c: TFLM's reference_ops::ResizeBilinearInteger, its
per-row and per-column source indices and 10-bit fractions computed here with the reference's
int32 arithmetic (align_corners, half_pixel_centers; both at once is refused, as TFLM does)."""

from __future__ import annotations

import numpy as np

from edgekit.codegen.ops import register
from edgekit.codegen.ops.resize_nearest_neighbor import operands

ONE = 1 << 10   # the reference's fixed point: source coordinates in 1/1024ths of a pixel


def _div(a: int, b: int) -> int:
    """C's integer division (truncating toward zero), b > 0."""
    return a // b if a >= 0 else -((-a) // b)


def interpolation(out_size: int, in_size: int, align_corners: bool, half_pixel_centers: bool) -> list[tuple[int, int, int]]:
    """(lower source index, upper source index, fraction in 1/1024ths past the lower one) for
    every output index: ComputeInterpolationValuesInteger with the reference's scale_10."""
    scale = (ONE * in_size + out_size // 2) // out_size
    if align_corners and out_size > 1:
        scale = (ONE * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    out = []
    for v in range(out_size):
        scaled = v * scale + scale // 2 - (1 << 9) if half_pixel_centers else v * scale
        lower = max(_div(scaled, ONE), 0)
        upper = min(_div(scaled + ONE - 1, ONE), in_size - 1)
        out.append((lower, upper, scaled - ONE * lower))
    return out


def _weight_sum(table: list[tuple[int, int, int]]) -> int:
    """The largest |1 - f| + |f| (in 1/1024ths) of a table: bounds the kernel's int32 sum."""
    return max(abs(ONE - f) + abs(f) for _, _, f in table)


@register("RESIZE_BILINEAR", 23, types=("int8",), weights=("int32",), kernels=("resize_bilinear.c",),
          options=((2, "align_corners", "<B", 0), (3, "half_pixel_centers", "<B", 0)),
          options_type="ResizeBilinearOptions")
def lower_resize_bilinear(lw, op) -> None:
    x, y, (oh, ow), align, half = operands(lw, op)
    if align and half:
        lw.fail(op, "align_corners and half_pixel_centers are both set",
                "TFLite Micro refuses this too: export with at most one of them")
    _, ih, iw, _ = x.shape
    rows = interpolation(oh, ih, align, half)
    cols = interpolation(ow, iw, align, half)
    if max(r[0] for r in rows) >= ih or max(c[0] for c in cols) >= iw:
        lw.fail(op, f"resizing {x.shape} to {y.shape} reads past the input's edge in the reference "
                f"kernel", "use a size closer to the input's or align_corners")
    # 128 * the weights of the four taps must fit the kernel's int32 sum (TFLM sums in int64).
    if 128 * _weight_sum(rows) * _weight_sum(cols) + (1 << 19) >= 1 << 31:
        lw.fail(op, f"resizing {x.shape} to {y.shape} is out of the kernel's int32 range")
    k = op.index
    rt = lw.const_array(np.array(rows).reshape(-1), "int32", name=f"ek_rows{k}")
    ct = lw.const_array(np.array(cols).reshape(-1), "int32", name=f"ek_cols{k}")
    ish = lw.shape_decl(f"ek_is{k}", x.shape)
    osh = lw.shape_decl(f"ek_os{k}", y.shape)
    lw.step(op, f"ek_resize_bilinear_s8({ish}, {lw.ptr(x.index)}, {rt}, {ct}, {osh}, {lw.ptr(y.index)});")
