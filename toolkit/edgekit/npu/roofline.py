"""Per-layer roofline estimate of an ONNX model on an NPU.

Each compute layer takes max(MACs / (macs_per_cycle * clock), bytes moved / DRAM bandwidth);
the model's latency estimate is the sum over layers. Bytes moved are the layer's weights plus
its input and output activations at the quantized element size, i.e. as if every tensor went
through DRAM (no on-chip reuse): an upper bound on the memory term. These are ESTIMATES from
the target profile's published throughput, not measurements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Ops whose cost is counted as multiply-accumulates; everything else is a memory-only layer.
_MAC_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
# Ops that only reinterpret or route a tensor: no bytes moved on an NPU worth counting.
_FREE_OPS = {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Transpose",
             "QuantizeLinear", "DequantizeLinear", "Shape", "Constant"}


@dataclass
class LayerEstimate:
    name: str
    op_type: str
    macs: int
    bytes_moved: int
    compute_us: float
    memory_us: float

    @property
    def bound(self) -> str:
        return "memory" if self.memory_us > self.compute_us else "compute"


@dataclass
class RooflineEstimate:
    macs: int
    bytes_moved: int
    compute_ms: float  # sum of compute terms
    memory_ms: float  # sum of memory terms
    latency_ms: float  # sum of per-layer max(compute, memory)
    dominant: str  # "compute" or "memory": the term that dominates the total
    layers: list[LayerEstimate] = field(default_factory=list)
    how: str = "estimated (roofline)"

    def summary(self) -> dict:
        return {
            "how": self.how,
            "macs": self.macs,
            "bytes_moved": self.bytes_moved,
            "compute_ms_estimated": self.compute_ms,
            "memory_ms_estimated": self.memory_ms,
            "latency_ms_estimated": self.latency_ms,
            "dominant_term": self.dominant,
            "layers_memory_bound": sum(1 for l in self.layers if l.bound == "memory"),
            "layers_compute_bound": sum(1 for l in self.layers if l.bound == "compute"),
        }


def _shapes(model) -> dict[str, tuple[int, ...]]:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(int(d.dim_value) for d in dims)
    for init in inferred.graph.initializer:
        shapes[init.name] = tuple(int(d) for d in init.dims)
    return shapes


def _macs(node, shapes: dict[str, tuple[int, ...]]) -> int:
    out = shapes.get(node.output[0])
    if out is None:
        return 0
    if node.op_type in ("Conv", "ConvTranspose"):
        w = shapes.get(node.input[1])
        if w is None:
            return 0
        # Weight is [Cout, Cin/group, kH, kW]: each output element takes Cin/group*kH*kW MACs.
        per_output = int(np.prod(w[1:]))
        return int(np.prod(out)) * per_output
    if node.op_type in ("Gemm", "MatMul"):
        a = shapes.get(node.input[0])
        if a is None:
            return 0
        return int(np.prod(out)) * int(a[-1])
    return 0


def estimate(onnx_path: Path, macs_per_cycle: int, clock_mhz: float, dram_bandwidth_gbps: float,
             activation_bytes: int = 1, weight_bytes: int = 1) -> RooflineEstimate:
    """Roofline estimate for a float or QDQ ONNX model with static shapes (batch fixed)."""
    import onnx

    model = onnx.load(str(onnx_path))
    shapes = _shapes(model)
    initializers = {i.name for i in model.graph.initializer}
    peak_macs_per_us = macs_per_cycle * clock_mhz  # MACs per microsecond
    bytes_per_us = dram_bandwidth_gbps * 1e3  # GB/s -> bytes per microsecond
    layers = []
    for node in model.graph.node:
        if node.op_type in _FREE_OPS:
            continue
        macs = _macs(node, shapes) if node.op_type in _MAC_OPS else 0
        moved = 0
        for name in list(node.input) + list(node.output):
            if not name or name not in shapes:
                continue
            n = int(np.prod(shapes[name]))
            moved += n * (weight_bytes if name in initializers else activation_bytes)
        layers.append(LayerEstimate(
            name=node.name or node.output[0], op_type=node.op_type, macs=macs, bytes_moved=moved,
            compute_us=macs / peak_macs_per_us, memory_us=moved / bytes_per_us))
    compute_ms = sum(l.compute_us for l in layers) / 1e3
    memory_ms = sum(l.memory_us for l in layers) / 1e3
    latency_ms = sum(max(l.compute_us, l.memory_us) for l in layers) / 1e3
    return RooflineEstimate(
        macs=sum(l.macs for l in layers), bytes_moved=sum(l.bytes_moved for l in layers),
        compute_ms=compute_ms, memory_ms=memory_ms, latency_ms=latency_ms,
        dominant="memory" if memory_ms > compute_ms else "compute", layers=layers)


def peak_activation_bytes(onnx_path: Path, activation_bytes: int = 1) -> int:
    """Largest sum of live activation tensors over the graph's node order (an ESTIMATE of the
    working memory, assuming each tensor is freed after its last consumer)."""
    import onnx

    model = onnx.load(str(onnx_path))
    shapes = _shapes(model)
    initializers = {i.name for i in model.graph.initializer}
    nodes = list(model.graph.node)
    last_use: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            last_use[name] = i
    for out in model.graph.output:
        last_use[out.name] = len(nodes)

    def size(name: str) -> int:
        return int(np.prod(shapes[name])) * activation_bytes if name in shapes else 0

    live = {inp.name for inp in model.graph.input if inp.name not in initializers}
    peak = sum(size(n) for n in live)
    for i, node in enumerate(nodes):
        for name in node.output:
            if name and name not in initializers:
                live.add(name)
        peak = max(peak, sum(size(n) for n in live))
        live = {n for n in live if last_use.get(n, -1) > i}
    return peak
