"""The flatbuffer verifier for .tflite files, as strict as the one LiteRT runs before it loads
a model (flatbuffers::Verifier with its defaults, over the whole TFLite schema), in Python
(docs/ARCHITECTURE.md, code generation).

Every table of the schema is walked, including the fields code generation never reads
(strings, metadata, signatures, sparsity, options of other ops): a file LiteRT's verifier
rejects is rejected here too, with one line naming the field (`subgraphs[0].tensors[3]
('conv/bias').quantization.zero_point: ...`). The rules, as the reference applies them:

- the file is smaller than 2 GiB, holds the `TFL3` identifier, its root offset is valid;
- an offset (uoffset) is 4-aligned, inside the file, non-zero, below 2^31, and points inside;
- a table's soffset is 4-aligned and inside; its vtable 2-aligned, of even size, inside;
- a scalar field is aligned to its size and inside the file;
- a vector's length is 4-aligned, and the whole vector inside; a string also ends in NUL;
- a union's value is verified as the table its type names (an unknown type is accepted);
- nesting at most 64 tables deep, at most 1,000,000 tables.
"""

from __future__ import annotations

import struct

from edgekit.codegen.tflite_schema import TABLES, UNIONS
from edgekit.errors import UserError

MAX_BUFFER_SIZE = (1 << 31) - 1
MAX_DEPTH = 64
MAX_TABLES = 1_000_000
_FMT = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}


class _Verifier:
    def __init__(self, buf: bytes, where: str):
        self.b = buf
        self.n = len(buf)
        self.where = where
        self.depth = 0
        self.tables = 0

    def fail(self, path: str, what: str):
        raise UserError(f"{self.where}: malformed .tflite: {path}: {what} (the flatbuffer verifier rejects "
                        f"it); re-export the model with `edgekit convert` or the TFLite converter")

    def inside(self, pos: int, size: int, align: int, path: str, what: str) -> None:
        if not (size < self.n and 0 <= pos <= self.n - size):
            self.fail(path, f"{what} at byte {pos} ({size} bytes) lies outside the {self.n}-byte file")
        if pos % align:
            self.fail(path, f"{what} at byte {pos} is not {align}-byte aligned")

    def u(self, pos: int, size: int) -> int:
        return struct.unpack_from(_FMT[size], self.b, pos)[0]

    def offset(self, pos: int, path: str) -> int:
        """The target of the uoffset at pos."""
        self.inside(pos, 4, 4, path, "offset")
        o = self.u(pos, 4)
        if o == 0:
            self.fail(path, f"offset at byte {pos} is 0 (points to itself)")
        if o >= 1 << 31:
            self.fail(path, f"offset {o} at byte {pos} is negative as a signed offset")
        self.inside(pos + o, 1, 1, path, f"target of the offset at byte {pos}")
        return pos + o

    def vector(self, pos: int, elem: int, path: str) -> tuple[int, int]:
        self.inside(pos, 4, 4, path, "vector length")
        length = self.u(pos, 4)
        if length >= MAX_BUFFER_SIZE // elem:
            self.fail(path, f"vector claims {length} elements")
        self.inside(pos, 4 + elem * length, 1, path, f"vector of {length} elements")
        return pos + 4, length

    def string(self, pos: int, path: str) -> None:
        start, length = self.vector(pos, 1, path)
        end = start + length
        self.inside(end, 1, 1, path, "string terminator")
        if self.b[end] != 0:
            self.fail(path, f"string of {length} bytes at byte {pos} is not NUL-terminated")

    def table(self, pos: int, name: str, path: str) -> None:
        self.depth += 1
        self.tables += 1
        if self.depth > MAX_DEPTH or self.tables > MAX_TABLES:
            self.fail(path, f"tables nested {self.depth} deep / {self.tables} tables (limits {MAX_DEPTH}, {MAX_TABLES})")
        self.inside(pos, 4, 4, path, "table")
        soff = struct.unpack_from("<i", self.b, pos)[0]
        vt = pos - soff
        self.inside(vt, 2, 2, path, "vtable")
        vsize = self.u(vt, 2)
        if vsize % 2:
            self.fail(path, f"vtable at byte {vt} has odd size {vsize}")
        if vsize:
            self.inside(vt, vsize, 1, path, f"vtable of {vsize} bytes")
        fields = TABLES[name]
        types: dict[int, int] = {}
        for voff, fname, kind in fields:
            fo = self.u(vt + voff, 2) if voff < vsize else 0
            if not fo:
                types[voff] = 0
                continue
            fpos = pos + fo
            fpath = f"{path}.{fname}"
            k = kind[0]
            if kind == "str":
                self.string(self.offset(fpos, fpath), fpath)
            elif kind == "vstr":
                start, length = self.vector(self.offset(fpos, fpath), 4, fpath)
                for i in range(length):
                    self.string(self._element(start + 4 * i, f"{fpath}[{i}]"), f"{fpath}[{i}]")
            elif kind.startswith("vt:"):
                start, length = self.vector(self.offset(fpos, fpath), 4, fpath)
                for i in range(length):
                    ep = f"{fpath}[{i}]"
                    self.table(self._element(start + 4 * i, ep), kind[3:], ep)
            elif k == "v":
                self.vector(self.offset(fpos, fpath), int(kind[1:]), fpath)
            elif k == "s":
                size = int(kind[1:])
                self.inside(fpos, size, size, fpath, "field")
                types[voff] = self.u(fpos, size) if size == 1 else 0
            elif kind.startswith("t:"):
                self.table(self.offset(fpos, fpath), kind[2:], fpath)
            elif kind.startswith("u:"):
                target = self.offset(fpos, fpath)
                member = UNIONS[kind[2:]].get(types.get(voff - 2, 0))
                if member is not None:
                    self.table(target, member, f"{fpath} ({member})")
        self.depth -= 1

    def _element(self, pos: int, path: str) -> int:
        # Vector elements are dereferenced without the offset checks (as the reference does);
        # what they point to is then verified as a table or string.
        return pos + self.u(pos, 4)


def verify_tflite(buf: bytes, where: str = "model") -> None:
    """UserError naming the field when `buf` is not a .tflite that LiteRT's verifier accepts."""
    v = _Verifier(buf, where)
    if len(buf) >= MAX_BUFFER_SIZE:
        v.fail("file", f"{len(buf)} bytes: larger than a flatbuffer can be")
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        v.fail("file", f"no TFL3 identifier at bytes 4-7 (found {bytes(buf[4:8])!r})")
    v.table(v.offset(0, "root"), "Model", "model")
