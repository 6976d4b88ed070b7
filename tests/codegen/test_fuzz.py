"""Validation as strict as the reference: seeded mutants of the reference models (bit flips,
bytes, int32 fields, truncation, splices) either are rejected with the one-line UserError or
generate C, and every mutant that generates C also loads in a reference interpreter (LiteRT
with its flatbuffer verifier, else tflite-micro). No other exception, no hang (a per-case
time bound). Generation is the contract: the C build is not run per mutant."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from edgekit.codegen.tflite_reader import _Reader, parse_tflite
from edgekit.errors import UserError

from tests.codegen import fuzz

DATA = Path(__file__).parent / "data"
KWS = DATA / "kws_int8.tflite"
MOBILENET = DATA / "mobilenetv2_int8.tflite"
TINY = Path(__file__).parents[1] / "build" / "data" / "tiny_kws_int8.tflite"
CASES = {"tiny_kws": 1500, "kws": 1000, "mobilenetv2": 100}


@pytest.mark.slow
def test_mutants_are_rejected_in_one_line_or_load_in_the_reference(tmp_path):
    seeds = {"tiny_kws": TINY.read_bytes(), "kws": KWS.read_bytes(), "mobilenetv2": MOBILENET.read_bytes()}
    out = fuzz.run_cases(seeds, CASES, seed=0, time_bound_s=10.0)
    paths = []
    for i, (case, mutant) in enumerate(out.accepted):
        p = tmp_path / f"{i}.tflite"
        p.write_bytes(mutant)
        paths.append(p)
    loads = fuzz.reference_loads(paths)
    violations = [(out.accepted[i][0], loads[str(p)][1]) for i, p in enumerate(paths) if loads[str(p)][0] is None]
    by = {who: sum(1 for w, _ in loads.values() if w == who) for who in ("litert", "tflite-micro")}
    figures = {"cases": out.cases, "rejected": out.rejected, "generated": out.generated,
               "generated_and_loaded_by": by, "crashes": len(out.crashes), "hangs": len(out.hangs),
               "multi_line_errors": len(out.multi_line), "violations": len(violations), "by_kind": out.by_kind}
    print("fuzz figures:", json.dumps(figures))
    assert out.cases == sum(CASES.values())
    assert out.crashes == [] and out.hangs == [] and out.multi_line == []
    assert violations == [], violations[:5]
    # The mutations reach both outcomes in every kind but truncation (always rejected).
    assert out.rejected > out.cases // 2 and out.generated > 100
    for kind, k in out.by_kind.items():
        assert k["rejected"] > 0 and (k["generated"] > 0 or kind == "truncate"), (kind, k)


def _tensor_quant_vector(buf: bytes, tensor: int, field: int, elem: int) -> int:
    """Byte position of tensor's quantization vector `field` (2 scale, 3 zero_point)."""
    r = _Reader(buf, "x")
    model = r.table(r.indirect(0, "root"), "model")
    t = model.tables(2, "subgraphs")[0].tables(0, "tensors")[tensor]
    q = t.table(4, "quantization")
    start, _ = r.vector(r.indirect(q.pos + q._field(field), "v"), elem, "v")
    return start


def _rejected(buf: bytes) -> str:
    with pytest.raises(UserError) as exc:
        fuzz.generate_c(buf, "m.tflite")
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_a_file_the_flatbuffer_verifier_rejects_is_rejected_naming_the_field():
    b = bytearray(KWS.read_bytes())
    i = b.find(b"MLIR Converted.")
    b[i + 15] = ord("X")  # the description string loses its NUL terminator
    msg = _rejected(bytes(b))
    assert "model.description" in msg and "not NUL-terminated" in msg and "flatbuffer verifier" in msg
    # ... as LiteRT's loader does:
    loads = fuzz._load_all("litert", [_write(b)], 60)
    assert "not a valid Flatbuffer" in next(iter(loads.values()))


def _write(b) -> str:
    import tempfile

    fd, p = tempfile.mkstemp(suffix=".tflite")
    Path(p).write_bytes(bytes(b))
    return p


def test_bias_zero_point_must_be_zero():
    buf = KWS.read_bytes()
    g = parse_tflite(buf)
    conv = g.operators[0]
    bias = conv.inputs[2]
    b = bytearray(buf)
    struct.pack_into("<q", b, _tensor_quant_vector(buf, bias, 3, 8), 6553600)
    msg = _rejected(bytes(b))
    assert f"bias tensor {bias}" in msg and "zero point 6553600" in msg


@pytest.mark.parametrize("breakage, expect", [
    ("root-odd", "not 4-byte aligned"),
    ("vtable-odd-size", "odd size"),
    ("huge-vector", "vector"),
    ("zero-points-missing", "zero points"),
    ("options-type", "builtin_options_type"),
])
def test_structural_breakages_name_what_is_wrong(breakage, expect):
    buf = KWS.read_bytes()
    b = bytearray(buf)
    r = _Reader(buf, "x")
    model = r.table(r.indirect(0, "root"), "model")
    sg = model.tables(2, "subgraphs")[0]
    if breakage == "root-odd":
        struct.pack_into("<I", b, 0, struct.unpack_from("<I", b, 0)[0] + 1)
    elif breakage == "vtable-odd-size":
        struct.pack_into("<H", b, model.vt, model.vt_size + 1)
    elif breakage == "huge-vector":
        tensors_vec = r.indirect(sg.pos + sg._field(0), "tensors")
        struct.pack_into("<I", b, tensors_vec, 0x3FFFFFFF)
    elif breakage == "zero-points-missing":
        t = sg.tables(0, "tensors")[0]
        q = t.table(4, "q")
        struct.pack_into("<I", b, r.indirect(q.pos + q._field(3), "zp"), 0)  # zero_point vector emptied
    elif breakage == "options-type":
        op = sg.tables(3, "operators")[0]
        from edgekit.codegen.tflite_schema import UNIONS

        pad = next(k for k, v in UNIONS["BuiltinOptions"].items() if v == "PadOptions")  # an empty table
        struct.pack_into("<B", b, op.pos + op._field(3), pad)  # CONV_2D claiming PadOptions
    assert expect in _rejected(bytes(b))


def test_committed_schema_matches_litert():
    from tests.codegen.gen_tflite_schema import OUT, derive, render

    assert OUT.read_text() == render(*derive()), "regenerate: python tests/codegen/gen_tflite_schema.py"
