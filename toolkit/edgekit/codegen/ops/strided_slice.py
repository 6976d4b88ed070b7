"""STRIDED_SLICE (int8), kernel ek_strided_slice_s8 in firmware/runtime/src/kernels/reshape.c:
begin/end/strides and the begin/end/shrink masks resolved here exactly as TFLite's
strided_slice_logic (StartForAxis, StopForAxis, LoopCondition) does, into a first element and a
count and step per dimension. Ellipsis and new-axis masks, and the offset option, are refused."""

from __future__ import annotations

import math

from edgekit.codegen.ops import register
from edgekit.codegen.tflite_reader import INT32

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def _axis_index(v: int, size: int, stride: int, masked: bool, masked_fwd: int, masked_back: int) -> int:
    """StartForAxis / StopForAxis: the mask override, negative indices, the clamp."""
    if masked:
        v = masked_fwd if stride > 0 else masked_back
    if v < 0:
        v += size
    return _clamp(v, 0, size) if stride > 0 else _clamp(v, -1, size - 1)


def resolve(shape: list[int], begin: list[int], end: list[int], strides: list[int],
            begin_mask: int, end_mask: int, shrink_mask: int) -> list[tuple[int, int, int]]:
    """(start, stride, count) per dimension of `shape`, padded in front to 4 dimensions as the
    reference pads to 5 (padded dimensions: the whole axis)."""
    pad = 4 - len(begin)
    shape4 = [1] * (4 - len(shape)) + list(shape)
    begin, end, strides = [0] * pad + begin, [1] * pad + end, [1] * pad + strides
    full = (1 << pad) - 1
    begin_mask, end_mask, shrink_mask = (begin_mask << pad) | full, (end_mask << pad) | full, shrink_mask << pad
    out = []
    for axis, size in enumerate(shape4):
        stride = strides[axis]
        # begin_mask: from the first element in the direction of travel; end_mask: to the last
        start = _axis_index(begin[axis], size, stride, bool(begin_mask & (1 << axis)), INT_MIN, INT_MAX)
        if shrink_mask & (1 << axis):
            stop = start + 1
        else:
            stop = _axis_index(end[axis], size, stride, bool(end_mask & (1 << axis)), INT_MAX, INT_MIN)
        span = stop - start if stride > 0 else start - stop
        count = max(0, -(-span // abs(stride)))
        out.append((start, stride, count))
    return out


@register("STRIDED_SLICE", 45, types=("int8",), weights=("int32",), kernels=("reshape.c",),
          options=((0, "begin_mask", "<i", 0), (1, "end_mask", "<i", 0), (2, "ellipsis_mask", "<i", 0),
                   (3, "new_axis_mask", "<i", 0), (4, "shrink_axis_mask", "<i", 0), (5, "offset", "<B", 0)),
          options_type="StridedSliceOptions")
def lower_strided_slice(lw, op) -> None:
    ins = lw.inputs(op, 4, 4)
    x = lw.act(op, ins[0], "input")
    vecs = [lw.const(op, i, INT32, what) for i, what in zip(ins[1:], ("begin", "end", "strides"))]
    y = lw.act(op, op.outputs[0], "output")
    begin, end, strides = ([int(v) for v in t.data.reshape(-1)] for t in vecs)
    rank = len(x.shape)
    if not (len(begin) == len(end) == len(strides) == rank):
        lw.fail(op, f"begin/end/strides have {len(begin)}/{len(end)}/{len(strides)} values for a "
                f"rank-{rank} input")
    if any(s == 0 for s in strides):
        lw.fail(op, f"strides {strides} contain 0")
    for key in ("ellipsis_mask", "new_axis_mask", "offset"):
        if int(op.options.get(key, 0)):
            lw.fail(op, f"{key} is set", "edgekit-micro (like TFLite Micro) slices without it")
    lw.same_quant(op, x, y, "STRIDED_SLICE copies int8 values")
    dims = resolve(list(x.shape), begin, end, strides, int(op.options.get("begin_mask", 0)),
                   int(op.options.get("end_mask", 0)), int(op.options.get("shrink_axis_mask", 0)))
    if math.prod(c for _, _, c in dims) != y.numel:
        lw.fail(op, f"the slice takes {[c for _, _, c in dims]} elements, the output {y.shape} holds {y.numel}")
    shape4 = [1] * (4 - rank) + list(x.shape)
    dense = [shape4[1] * shape4[2] * shape4[3], shape4[2] * shape4[3], shape4[3], 1]
    first = sum(s * d for (s, _, c), d in zip(dims, dense) if c)
    steps = [st * d for (_, st, _), d in zip(dims, dense)]
    k = op.index
    lw.decls.append(f"static const ek_slice_t ek_sl{k} = {{.first = {first}, "
                    f".count = {{{', '.join(str(c) for _, _, c in dims)}}}, "
                    f".step = {{{', '.join(map(str, steps))}}}}};")
    lw.step(op, f"ek_strided_slice_s8(&ek_sl{k}, {lw.ptr(x.index)}, {lw.ptr(y.index)});")
