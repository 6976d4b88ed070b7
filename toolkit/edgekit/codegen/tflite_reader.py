"""A small, bounds-checked reader for the .tflite flatbuffer (schema v3), without TensorFlow.

Every offset, vector length and index is checked before use: a truncated or hostile file
raises UserError naming what is wrong, never an IndexError/struct.error traceback. Only the
parts of the schema code generation needs are read.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit.codegen.tflite_verify import verify_tflite
from edgekit.errors import UserError

# TensorType
FLOAT32, FLOAT16, INT32, UINT8, INT64, STRING, BOOL, INT16, COMPLEX64, INT8 = range(10)
TYPE_NAMES = {FLOAT32: "float32", FLOAT16: "float16", INT32: "int32", UINT8: "uint8",
              INT64: "int64", STRING: "string", BOOL: "bool", INT16: "int16",
              COMPLEX64: "complex64", INT8: "int8"}
TYPE_SIZES = {FLOAT32: 4, FLOAT16: 2, INT32: 4, UINT8: 1, INT64: 8, BOOL: 1, INT16: 2,
              COMPLEX64: 8, INT8: 1}
TYPE_NP = {FLOAT32: np.float32, FLOAT16: np.float16, INT32: np.int32, UINT8: np.uint8,
           INT64: np.int64, BOOL: np.bool_, INT16: np.int16, INT8: np.int8}

# BuiltinOperator names of ops edgekit-micro does not implement, for clear messages; the ones it
# implements (and their options) come from the op registry, codegen/ops/.
_OTHER_OP_NAMES = {2: "CONCATENATION", 5: "DEPTH_TO_SPACE", 14: "LOGISTIC", 18: "MUL",
                   19: "RELU", 21: "RELU6", 23: "RESIZE_BILINEAR", 28: "TANH",
                   39: "TRANSPOSE", 41: "SUB", 45: "STRIDED_SLICE", 49: "SPLIT",
                   53: "CAST", 65: "SLICE", 67: "TRANSPOSE_CONV", 74: "SUM", 80: "REDUCE_MAX",
                   83: "PACK", 97: "RESIZE_NEAREST_NEIGHBOR", 98: "IF", 99: "WHILE",
                   117: "HARD_SWISH", 126: "BATCH_MATMUL"}

MAX_RANK = 4
MAX_ELEMENTS = 1 << 26      # 64 Mi elements: far beyond any microcontroller, still sane


def _registry():
    # Imported here: the op modules import this module's type constants.
    from edgekit.codegen.ops import REGISTRY
    return REGISTRY


def op_codes() -> dict[int, str]:
    """BuiltinOperator code -> name of the ops edgekit-micro implements (the op registry)."""
    return {s.code: s.name for s in _registry().values()}


def op_name(code: int) -> str:
    return op_codes().get(code) or _OTHER_OP_NAMES.get(code) or f"builtin#{code}"


@dataclass
class Quant:
    scale: list[float]
    zero_point: list[int]
    quantized_dimension: int = 0


@dataclass
class Tensor:
    index: int
    name: str
    type: int
    shape: list[int]
    buffer: int
    quant: Optional[Quant]
    data: Optional[np.ndarray] = None     # constant tensors only

    @property
    def numel(self) -> int:
        return int(math.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.numel * TYPE_SIZES.get(self.type, 1)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type#{self.type}")


@dataclass
class Operator:
    index: int
    code: int
    inputs: list[int]          # -1 = optional input absent
    outputs: list[int]
    options: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return op_name(self.code)


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""


class _Reader:
    """Bounds-checked access to flatbuffer tables, vectors and scalars."""

    def __init__(self, buf: bytes, where: str):
        self.b = buf
        self.n = len(buf)
        self.where = where

    def fail(self, what: str):
        raise UserError(f"{self.where}: malformed .tflite ({what}); re-export the model with "
                        f"`edgekit convert` or the TFLite converter")

    def _u(self, fmt: str, pos: int, what: str):
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > self.n:
            self.fail(f"{what} at byte {pos} is outside the {self.n}-byte file")
        return struct.unpack_from(fmt, self.b, pos)[0]

    def table(self, pos: int, what: str) -> "_Table":
        soff = self._u("<i", pos, what)
        vt = pos - soff
        vt_size = self._u("<H", vt, f"{what} vtable")
        if vt_size < 4 or vt_size % 2 or vt + vt_size > self.n:
            self.fail(f"{what} has a bad vtable")
        tbl_size = self._u("<H", vt + 2, f"{what} vtable")
        if pos + tbl_size > self.n:
            self.fail(f"{what} extends past the end of the file")
        return _Table(self, pos, vt, vt_size, tbl_size, what)

    def indirect(self, pos: int, what: str) -> int:
        off = self._u("<I", pos, what)
        tgt = pos + off
        if off == 0 or tgt >= self.n:
            self.fail(f"{what} points outside the file")
        return tgt

    def vector(self, pos: int, elem: int, what: str) -> tuple[int, int]:
        """pos of a vector (already dereferenced) -> (first element pos, length)."""
        length = self._u("<I", pos, f"{what} length")
        start = pos + 4
        if length * elem > self.n - start:
            self.fail(f"{what} claims {length} elements, more than the file holds")
        return start, length


class _Table:
    def __init__(self, r: _Reader, pos: int, vt: int, vt_size: int, tbl_size: int, what: str):
        self.r, self.pos, self.vt, self.vt_size, self.tbl_size, self.what = (
            r, pos, vt, vt_size, tbl_size, what)

    def _field(self, idx: int) -> int:
        o = 4 + 2 * idx
        if o + 2 > self.vt_size:
            return 0
        off = self.r._u("<H", self.vt + o, f"{self.what} vtable")
        if off and off >= self.tbl_size:
            self.r.fail(f"{self.what} field {idx} lies outside its table")
        return off

    def scalar(self, idx: int, fmt: str, default):
        off = self._field(idx)
        return default if not off else self.r._u(fmt, self.pos + off, f"{self.what} field {idx}")

    def table(self, idx: int, what: str) -> Optional[_Table]:
        off = self._field(idx)
        if not off:
            return None
        return self.r.table(self.r.indirect(self.pos + off, what), what)

    def string(self, idx: int) -> str:
        off = self._field(idx)
        if not off:
            return ""
        start, length = self.r.vector(self.r.indirect(self.pos + off, "string"), 1, "string")
        return self.r.b[start:start + length].decode("utf-8", errors="replace")

    def scalars(self, idx: int, fmt: str, what: str) -> Optional[list]:
        off = self._field(idx)
        if not off:
            return None
        size = struct.calcsize(fmt)
        start, length = self.r.vector(self.r.indirect(self.pos + off, what), size, what)
        return list(struct.unpack_from(f"<{length}{fmt.lstrip('<')}", self.r.b, start))

    def bytes_(self, idx: int, what: str) -> Optional[memoryview]:
        off = self._field(idx)
        if not off:
            return None
        start, length = self.r.vector(self.r.indirect(self.pos + off, what), 1, what)
        return memoryview(self.r.b)[start:start + length]

    def tables(self, idx: int, what: str) -> list[_Table]:
        off = self._field(idx)
        if not off:
            return []
        start, length = self.r.vector(self.r.indirect(self.pos + off, what), 4, what)
        return [self.r.table(self.r.indirect(start + 4 * i, f"{what}[{i}]"), f"{what}[{i}]")
                for i in range(length)]


# Option values as the reader decodes them (each op's fields are in its registry entry).
_PADDING = {0: "SAME", 1: "VALID"}
_ACT = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def read_tflite(path: Path) -> Graph:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such .tflite file; run `edgekit convert` first")
    buf = path.read_bytes()
    return parse_tflite(buf, str(path))


def parse_tflite(buf: bytes, where: str = "model") -> Graph:
    r = _Reader(buf, where)
    if len(buf) < 8:
        r.fail("file shorter than a flatbuffer header")
    if buf[4:8] != b"TFL3":
        r.fail(f"file identifier is {bytes(buf[4:8])!r}, not b'TFL3'")
    # The whole file as LiteRT's flatbuffer verifier checks it (every table and field, also
    # those read nowhere below), then the model's meaning as its loader checks it.
    verify_tflite(buf, where)
    model = r.table(r.indirect(0, "root table"), "model")
    version = model.scalar(0, "<I", 0)
    if version != 3:
        r.fail(f"schema version {version}, expected 3")
    opcodes = []
    for i, t in enumerate(model.tables(1, "operator_codes")):
        dep = t.scalar(0, "<b", 0)
        code = t.scalar(3, "<i", 0)
        opcodes.append(max(int(dep), int(code)))
    subgraphs = model.tables(2, "subgraphs")
    if len(subgraphs) != 1:
        raise UserError(f"{where}: {len(subgraphs)} subgraphs; edgekit-micro runs single-subgraph "
                        f"models (no control flow); convert without IF/WHILE ops")
    buffers = model.tables(4, "buffers")
    buffer_data: list[Optional[memoryview]] = []
    for i, b in enumerate(buffers):
        if b.scalar(1, "<Q", 0) or b.scalar(2, "<Q", 0):
            raise UserError(f"{where}: buffer {i} is stored outside the flatbuffer (>2 GB model "
                            f"format); such models cannot fit a microcontroller")
        buffer_data.append(b.bytes_(0, f"buffers[{i}].data"))
    sg = subgraphs[0]
    tensors: list[Tensor] = []
    for i, t in enumerate(sg.tables(0, "tensors")):
        shape = t.scalars(0, "<i", f"tensors[{i}].shape") or []
        ttype = t.scalar(1, "<b", 0)
        bidx = t.scalar(2, "<I", 0)
        name = _printable(t.string(3))
        label = f"tensor {i} ('{name}')"
        if ttype not in TYPE_NAMES:
            raise UserError(f"{where}: {label} has unknown type {ttype}")
        if len(shape) > MAX_RANK:
            raise UserError(f"{where}: {label} has rank {len(shape)}; at most {MAX_RANK} supported")
        if any(d <= 0 for d in shape):
            raise UserError(f"{where}: {label} has shape {shape}; every dimension must be >= 1 "
                            f"(dynamic or empty shapes are not supported)")
        numel = math.prod(shape) if shape else 1
        if numel > MAX_ELEMENTS:
            raise UserError(f"{where}: {label} has absurd shape {shape} ({numel} elements)")
        if bidx >= len(buffers):
            raise UserError(f"{where}: {label} refers to buffer {bidx}, but the file has "
                            f"{len(buffers)} buffers")
        quant = None
        q = t.table(4, f"{label} quantization")
        if q is not None:
            scale = q.scalars(2, "<f", f"{label} scale") or []
            zp = q.scalars(3, "<q", f"{label} zero_point") or []
            qdim = q.scalar(6, "<i", 0)
            if scale:
                quant = Quant([float(s) for s in scale], [int(z) for z in zp], int(qdim))
                _check_quant(where, label, ttype, shape, quant)
        data = None
        raw = buffer_data[bidx] if bidx else None
        if raw is not None and len(raw):
            if ttype not in TYPE_NP:
                raise UserError(f"{where}: {label} is a constant of unsupported type")
            want = numel * TYPE_SIZES[ttype]
            if len(raw) != want:
                raise UserError(f"{where}: {label} buffer holds {len(raw)} bytes, its shape "
                                f"{shape} of {TYPE_NAMES[ttype]} needs {want}")
            data = np.frombuffer(bytes(raw), dtype=TYPE_NP[ttype]).reshape(shape or [1]).copy()
        tensors.append(Tensor(i, name, ttype, list(shape), bidx, quant, data))
    nt = len(tensors)

    def idx_list(tbl: _Table, fidx: int, what: str, allow_absent: bool) -> list[int]:
        vals = tbl.scalars(fidx, "<i", what) or []
        for v in vals:
            if (v == -1 and allow_absent):
                continue
            if v < 0 or v >= nt:
                raise UserError(f"{where}: {what} refers to tensor {v}, but the graph has "
                                f"{nt} tensors")
        return [int(v) for v in vals]

    inputs = idx_list(sg, 1, "subgraph inputs", False)
    outputs = idx_list(sg, 2, "subgraph outputs", False)
    ops: list[Operator] = []
    for i, o in enumerate(sg.tables(3, "operators")):
        oi = o.scalar(0, "<I", 0)
        if oi >= len(opcodes):
            raise UserError(f"{where}: operator {i} uses opcode {oi}, but the file has "
                            f"{len(opcodes)} operator codes")
        code = opcodes[oi]
        op = Operator(i, code, idx_list(o, 1, f"operator {i} inputs", True),
                      idx_list(o, 2, f"operator {i} outputs", False))
        _check_options_type(o, op, where)
        spec = _registry().get(op.name)
        if spec is not None and spec.options:
            opt = o.table(4, f"operator {i} options")
            for fidx, key, fmt, default in spec.options:
                op.options[key] = opt.scalar(fidx, fmt, default) if opt is not None else default
        ops.append(op)
    _check_signatures(model, where, nt)
    _check_biases(ops, tensors, where)
    _check_reshapes(ops, tensors, where)
    return Graph(tensors, ops, inputs, outputs, model.string(3))


def _check_options_type(o: _Table, op: Operator, where: str) -> None:
    from edgekit.codegen.tflite_schema import UNIONS

    # The BuiltinOptions union member the op must carry (its registry entry's options_type):
    # LiteRT reads a missing or mismatched options table as all-zero parameters (stride 0,
    # dilation 0) and refuses the op.
    spec = _registry().get(op.name)
    want = spec.options_type if spec is not None else ""
    if not want:
        return
    got = o.scalar(3, "<B", 0)
    if UNIONS["BuiltinOptions"].get(got) != want:
        raise UserError(f"{where}: operator {op.index} ({op.name}): builtin_options_type is "
                        f"{UNIONS['BuiltinOptions'].get(got, 'NONE' if got == 0 else got)}, expected {want}; "
                        f"re-export the model")


def _check_reshapes(ops: list[Operator], tensors: list[Tensor], where: str) -> None:
    """A RESHAPE's constant shape input is what LiteRT computes the output from: it must
    give the output tensor's shape (one -1 stretches), with the input's element count."""
    for op in ops:
        if op.name != "RESHAPE" or len(op.inputs) < 2 or op.inputs[1] < 0 or not op.outputs:
            continue
        shape_t, x, y = tensors[op.inputs[1]], tensors[op.inputs[0]], tensors[op.outputs[0]]
        if shape_t.data is None or len(shape_t.shape) != 1:
            continue
        dims = [int(d) for d in shape_t.data.reshape(-1)]
        known = math.prod(d for d in dims if d != -1)
        if dims.count(-1) > 1 or any(d < -1 or d == 0 for d in dims) or known == 0 or \
                (dims.count(-1) == 1 and x.numel % known):
            raise UserError(f"{where}: operator {op.index} (RESHAPE): shape tensor {shape_t.index} holds "
                            f"{dims}, not a valid shape for {x.numel} elements")
        resolved = [x.numel // known if d == -1 else d for d in dims]
        if math.prod(resolved) != x.numel or resolved != list(y.shape):
            raise UserError(f"{where}: operator {op.index} (RESHAPE): shape tensor {shape_t.index} holds "
                            f"{dims}, but the output tensor {y.index} has shape {y.shape} (input {x.numel} "
                            f"elements)")


def _printable(name: str, limit: int = 80) -> str:
    """A tensor name fit for a one-line message (a hostile file can hold anything there)."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in name)
    return clean if len(clean) <= limit else clean[:limit] + "..."


def _check_signatures(model: _Table, where: str, n_tensors: int) -> None:
    """SignatureDefs as LiteRT's interpreter builder needs them: a key, a valid subgraph, and
    named tensor maps pointing at real tensors."""
    for i, sd in enumerate(model.tables(7, "signature_defs")):
        if not sd.string(2):
            raise UserError(f"{where}: signature_defs[{i}].signature_key: missing (LiteRT needs the name "
                            f"of every signature); re-export the model")
        sub = sd.scalar(4, "<I", 0)
        if sub != 0:
            raise UserError(f"{where}: signature_defs[{i}].subgraph_index {sub}: the model has 1 subgraph")
        for fidx, side in ((0, "inputs"), (1, "outputs")):
            for j, tm in enumerate(sd.tables(fidx, f"signature_defs[{i}].{side}")):
                if not tm.string(0):
                    raise UserError(f"{where}: signature_defs[{i}].{side}[{j}].name: missing")
                ti = tm.scalar(1, "<I", 0)
                if ti >= n_tensors:
                    raise UserError(f"{where}: signature_defs[{i}].{side}[{j}].tensor_index {ti}: the graph "
                                    f"has {n_tensors} tensors")


# Which input of an op is its bias: quantized biases have zero point 0 (the TFLite
# quantization spec); tflite-micro's kernels never read it, so a wrong one would go unnoticed.
_BIAS_INPUT = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3}


def _check_biases(ops: list[Operator], tensors: list[Tensor], where: str) -> None:
    for op in ops:
        k = _BIAS_INPUT.get(op.name)
        if k is None or len(op.inputs) <= k or op.inputs[k] < 0:
            continue
        t = tensors[op.inputs[k]]
        if t.quant is not None and any(z != 0 for z in t.quant.zero_point):
            z = next(z for z in t.quant.zero_point if z != 0)
            raise UserError(f"{where}: operator {op.index} ({op.name}): bias tensor {t.index} ('{t.name}') has "
                            f"zero point {z}; quantized biases must have zero point 0 (TFLite quantization "
                            f"spec): re-export the model")


def _check_quant(where: str, label: str, ttype: int, shape: list[int], q: Quant) -> None:
    for s in q.scale:
        if not (math.isfinite(s) and s > 0):
            raise UserError(f"{where}: {label} has quantization scale {s}; scales must be "
                            f"finite and > 0")
    if len(q.zero_point) != len(q.scale):
        raise UserError(f"{where}: {label} has {len(q.scale)} scales but "
                        f"{len(q.zero_point)} zero points; LiteRT needs one zero point per scale")
    lo, hi = {INT8: (-128, 127), UINT8: (0, 255), INT16: (-32768, 32767)}.get(
        ttype, (-(1 << 31), (1 << 31) - 1))
    for z in q.zero_point:
        if not lo <= z <= hi:
            raise UserError(f"{where}: {label} zero point {z} is outside its type's range "
                            f"[{lo}, {hi}]")
    if len(q.scale) > 1:
        if not 0 <= q.quantized_dimension < len(shape) or \
                shape[q.quantized_dimension] != len(q.scale):
            raise UserError(f"{where}: {label} has {len(q.scale)} per-channel scales that do "
                            f"not match dimension {q.quantized_dimension} of shape {shape}")
