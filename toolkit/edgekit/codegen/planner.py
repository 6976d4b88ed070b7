"""Static arena planning: liveness-based greedy packing (largest first, lowest fit).

Buffers whose lifetimes do not overlap may share memory. A buffer lives from the step that
writes it to the last step that reads it (graph input from step -1, graph output to the
end). Aliasing (RESHAPE, in-place ADD) is decided before planning by merging tensors into
one buffer with the union of their lifetimes.
"""

from __future__ import annotations

from dataclasses import dataclass

ALIGN = 16


@dataclass
class Buffer:
    name: str
    size: int
    first: int
    last: int
    offset: int = -1


def _align(x: int) -> int:
    return (x + ALIGN - 1) // ALIGN * ALIGN


def plan(buffers: list[Buffer]) -> int:
    """Assign offsets in place; returns the arena size (peak)."""
    placed: list[Buffer] = []
    for buf in sorted(buffers, key=lambda b: (-b.size, b.first, b.name)):
        overlapping = sorted((p for p in placed if p.first <= buf.last and buf.first <= p.last),
                             key=lambda p: p.offset)
        offset = 0
        for p in overlapping:
            if offset + buf.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        buf.offset = offset
        placed.append(buf)
    return _align(max((b.offset + b.size for b in buffers), default=0))


def check_plan(buffers: list[Buffer]) -> None:
    """Invariant check: no two simultaneously live buffers overlap."""
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if a.first <= b.last and b.first <= a.last:
                if a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                    raise AssertionError(f"arena plan overlap: {a} and {b}")


# -- memory schedules (firmware/runtime/src/kernels/schedule.h) ---------------------------------
# Which convolutions run in place (their output overwrites their input) and which 1x1
# expansions are fused with the depthwise convolution after them (the expanded tensor is
# never whole in memory). Chosen from the graph alone, before lowering, so that every
# kernel variant (reference, dsp, mve) runs the same schedule.

INPLACE = "inplace"          # the op's output takes its input's memory
FUSED_INTO_NEXT = "fused"    # a 1x1 CONV_2D computed row by row inside the next op
FUSED_WITH_PREV = "fuses"    # the DEPTHWISE_CONV_2D that computes the previous op's rows
ROWS_PER_CALL_PIXELS = 16    # in-place 1x1 conv: rows per kernel call cover >= this many pixels


def _conv_geometry(op, tensors) -> dict | None:
    """Shapes and options of a CONV_2D / DEPTHWISE_CONV_2D with a 4-D activation in and out."""
    if op.name not in ("CONV_2D", "DEPTHWISE_CONV_2D") or len(op.inputs) < 2 or len(op.outputs) != 1:
        return None
    x, w, y = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
    if x.data is not None or w.data is None or len(x.shape) != 4 or len(y.shape) != 4 or len(w.shape) != 4:
        return None
    o = op.options
    return {"x": x, "y": y, "kh": w.shape[1], "kw": w.shape[2],
            "stride": (int(o.get("stride_h", 1)), int(o.get("stride_w", 1))),
            "dilation": (int(o.get("dilation_h", 1)), int(o.get("dilation_w", 1))),
            "valid": int(o.get("padding", 0)) == 1}


def choose_schedules(g, unfused: frozenset = frozenset()) -> dict[int, str]:
    """op index -> INPLACE / FUSED_INTO_NEXT / FUSED_WITH_PREV, where that is safe (no fusion of
    the 1x1 convs in `unfused`, lower.lower's choice):
    - the op's input is read by this op only, is not the model's input, and is not a RESHAPE's
      (which shares its bytes with another tensor);
    - batch 1; for in place, the output row is no larger than the input row;
    - fusion: a 1x1 stride-1 CONV_2D that expands the channels, whose output only the next op,
      a DEPTHWISE_CONV_2D, reads."""
    tensors = g.tensors
    readers: dict[int, list[int]] = {}
    producer: dict[int, object] = {}
    for step, op in enumerate(g.operators):
        for i in op.inputs:
            if i >= 0:
                readers.setdefault(i, []).append(step)
        for i in op.outputs:
            producer[i] = op
    graph_io = set(g.inputs) | set(g.outputs)
    out: dict[int, str] = {}

    def private_input(step: int, i: int) -> bool:
        p = producer.get(i)
        return (i not in graph_io and readers.get(i) == [step] and p is not None and p.name != "RESHAPE")

    ops = g.operators
    for step, op in enumerate(ops):
        geo = _conv_geometry(op, tensors)
        if geo is None or op.index in out:
            continue
        x, y = geo["x"], geo["y"]
        if x.shape[0] != 1:
            continue
        pointwise = op.name == "CONV_2D" and geo["kh"] == geo["kw"] == 1 and geo["stride"] == (1, 1)
        nxt = ops[step + 1] if step + 1 < len(ops) else None
        nxt_geo = _conv_geometry(nxt, tensors) if nxt is not None else None
        if (pointwise and op.index not in unfused and y.shape[3] > x.shape[3] and nxt is not None and nxt.name == "DEPTHWISE_CONV_2D"
                and nxt_geo is not None and nxt_geo["x"].index == y.index and private_input(step + 1, y.index)
                and y.index not in graph_io):
            out[op.index], out[nxt.index] = FUSED_INTO_NEXT, FUSED_WITH_PREV
            continue
        if y.shape[2] * y.shape[3] > x.shape[2] * x.shape[3] or not private_input(step, x.index):
            continue
        if pointwise or (op.name == "DEPTHWISE_CONV_2D" and y.shape[3] == x.shape[3]):
            out[op.index] = INPLACE
    return out


def inplace_rows(width: int, height: int) -> int:
    """Rows per kernel call of an in-place 1x1 conv: enough pixels that per-call set-up
    (the Helium kernel's weight sums) stays a small share, few enough to keep `tmp` small."""
    return max(1, min(height, -(-ROWS_PER_CALL_PIXELS // max(width, 1))))
