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
