"""Hostile .tflite files: the generator raises UserError naming the problem, never crashes.

Variants are made from a valid model either at byte level (truncation, corruption) or by
editing the decoded model with ai_edge_litert's schema object API and re-packing it, so each
file is a well-formed flatbuffer with exactly one semantic problem.
"""

from __future__ import annotations

import copy
import random

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as S

from edgekit.codegen import generate
from edgekit.codegen.tflite_reader import parse_tflite
from edgekit.errors import UserError

from . import tiny_models
from .cases import FIXED_CASES

CNN = FIXED_CASES[7]


@pytest.fixture(scope="module")
def valid_bytes() -> bytes:
    return tiny_models.ensure_models([CNN])[0].read_bytes()


def _pack(model: "S.ModelT") -> bytes:
    b = flatbuffers.Builder(0)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _model(buf: bytes) -> "S.ModelT":
    return S.ModelT.InitFromPackedBuf(bytearray(buf), 0)


def _gen(tmp_path, buf: bytes):
    p = tmp_path / "m.tflite"
    p.write_bytes(buf)
    return generate(p, tmp_path / "gen", "hostile")


def _first_op(m, name_code: int):
    sg = m.subgraphs[0]
    for op in sg.operators:
        oc = m.operatorCodes[op.opcodeIndex]
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == name_code:
            return sg, op
    raise AssertionError(f"no op {name_code}")


def test_valid_model_generates(valid_bytes, tmp_path):
    r = _gen(tmp_path, valid_bytes)
    assert [o.op for o in r.ops][:3] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"]


@pytest.mark.parametrize("length", [0, 3, 7, 8, 16, 64, 200, 1000, -300, -40, -1])
def test_truncated(valid_bytes, tmp_path, length):
    with pytest.raises(UserError, match="malformed|TFL3|no operators|subgraph|buffer|tensor"):
        _gen(tmp_path, valid_bytes[:length] if length >= 0 else valid_bytes[:length])


def test_wrong_identifier(valid_bytes, tmp_path):
    buf = bytearray(valid_bytes)
    buf[4:8] = b"XXXX"
    with pytest.raises(UserError, match="identifier"):
        _gen(tmp_path, bytes(buf))


def test_not_a_file(tmp_path):
    with pytest.raises(UserError, match="no such"):
        generate(tmp_path / "missing.tflite", tmp_path / "gen", "x")


def _edit_and_expect(valid_bytes, tmp_path, edit, match):
    m = _model(valid_bytes)
    edit(m)
    with pytest.raises(UserError, match=match):
        _gen(tmp_path, _pack(m))


def test_operator_tensor_index_out_of_range(valid_bytes, tmp_path):
    def edit(m):
        m.subgraphs[0].operators[0].inputs[0] = 9999
    _edit_and_expect(valid_bytes, tmp_path, edit, r"refers to tensor 9999")


def test_negative_output_index(valid_bytes, tmp_path):
    def edit(m):
        m.subgraphs[0].operators[1].outputs[0] = -5
    _edit_and_expect(valid_bytes, tmp_path, edit, r"refers to tensor -5")


def test_buffer_index_out_of_range(valid_bytes, tmp_path):
    def edit(m):
        m.subgraphs[0].tensors[1].buffer = len(m.buffers) + 7
    _edit_and_expect(valid_bytes, tmp_path, edit, r"refers to buffer")


def test_opcode_index_out_of_range(valid_bytes, tmp_path):
    def edit(m):
        m.subgraphs[0].operators[0].opcodeIndex = 200
    _edit_and_expect(valid_bytes, tmp_path, edit, r"opcode 200")


@pytest.mark.parametrize("shape,match", [([1, 100000, 100000, 64], "absurd"),
                                         ([1, -1, 4, 4], "dimension"),
                                         ([1, 0, 4, 4], "dimension"),
                                         ([1, 2, 3, 4, 5], "rank")])
def test_absurd_shapes(valid_bytes, tmp_path, shape, match):
    def edit(m):
        sg = m.subgraphs[0]
        sg.tensors[sg.inputs[0]].shape = np.array(shape, dtype=np.int32)
    _edit_and_expect(valid_bytes, tmp_path, edit, match)


def test_activation_shape_inconsistent_with_op(valid_bytes, tmp_path):
    def edit(m):
        sg, op = _first_op(m, 3)       # CONV_2D
        t = sg.tensors[op.outputs[0]]
        t.shape = np.array([1, 50, 50, t.shape[-1]], dtype=np.int32)
    _edit_and_expect(valid_bytes, tmp_path, edit, r"computes")


def test_constant_buffer_too_short(valid_bytes, tmp_path):
    def edit(m):
        sg, op = _first_op(m, 3)
        w = sg.tensors[op.inputs[1]]
        m.buffers[w.buffer].data = m.buffers[w.buffer].data[:5]
    _edit_and_expect(valid_bytes, tmp_path, edit, r"buffer holds 5 bytes")


@pytest.mark.parametrize("scale,match", [(0.0, "scale"), (float("nan"), "scale"),
                                         (-1.0, "scale"), (1e-38, "multiplier|int32")])
def test_bad_scales(valid_bytes, tmp_path, scale, match):
    def edit(m):
        sg, op = _first_op(m, 3)
        sg.tensors[op.outputs[0]].quantization.scale = [scale]
    _edit_and_expect(valid_bytes, tmp_path, edit, match)


def test_per_channel_scale_count_mismatch(valid_bytes, tmp_path):
    def edit(m):
        sg, op = _first_op(m, 3)
        q = sg.tensors[op.inputs[1]].quantization
        q.scale = list(q.scale)[:-1] + [0.1, 0.2]
        q.zeroPoint = [0] * len(q.scale)
    _edit_and_expect(valid_bytes, tmp_path, edit, r"per-channel|scales")


def test_zero_point_out_of_range(valid_bytes, tmp_path):
    def edit(m):
        sg = m.subgraphs[0]
        sg.tensors[sg.inputs[0]].quantization.zeroPoint = [300]
    _edit_and_expect(valid_bytes, tmp_path, edit, r"zero point 300")


def test_zero_stride(valid_bytes, tmp_path):
    def edit(m):
        sg, op = _first_op(m, 3)
        op.builtinOptions.strideW = 0
    _edit_and_expect(valid_bytes, tmp_path, edit, r"stride_w = 0")


def test_unsupported_op(valid_bytes, tmp_path):
    def edit(m):
        for oc in m.operatorCodes:
            if max(oc.builtinCode, oc.deprecatedBuiltinCode) == 25:   # SOFTMAX -> LOG_SOFTMAX
                oc.builtinCode = oc.deprecatedBuiltinCode = 50
    _edit_and_expect(valid_bytes, tmp_path, edit, r"builtin#50\): is not implemented by edgekit-micro; supported ops: .*TANH")


def test_use_before_definition(valid_bytes, tmp_path):
    def edit(m):
        ops = m.subgraphs[0].operators
        ops[0], ops[1] = ops[1], ops[0]
    _edit_and_expect(valid_bytes, tmp_path, edit, r"before any operator writes it")


def test_random_corruption_never_crashes(valid_bytes, tmp_path):
    """Byte flips anywhere: UserError or a successful generation, nothing else."""
    rng = random.Random(5)
    outcomes = {"ok": 0, "user_error": 0}
    for trial in range(150):
        buf = bytearray(valid_bytes)
        for _ in range(rng.choice([1, 2, 8])):
            pos = rng.randrange(len(buf))
            buf[pos] = rng.randrange(256)
        try:
            parse_tflite(bytes(buf), f"trial {trial}")
            _gen(tmp_path, bytes(buf))
            outcomes["ok"] += 1
        except UserError as exc:
            assert "\n" not in str(exc)
            outcomes["user_error"] += 1
    assert outcomes["user_error"] > 0


def _mutate(m, rng: random.Random) -> None:
    """One to three random semantic edits: shapes, operand indices, options, scales, zero points."""
    sg = m.subgraphs[0]
    for _ in range(rng.choice([1, 1, 2, 3])):
        k = rng.randrange(5)
        if k == 0:
            t = rng.choice(sg.tensors)
            if t.shape is not None and len(t.shape):
                t.shape = np.array([max(1, int(v) + rng.choice([-2, -1, 1, 2, 7])) if rng.random() < 0.5
                                    else int(v) for v in t.shape], dtype=np.int32)
        elif k == 1:
            op = rng.choice(sg.operators)
            if op.inputs is not None and len(op.inputs):
                op.inputs[rng.randrange(len(op.inputs))] = rng.randrange(-1, len(sg.tensors))
        elif k == 2:
            o = rng.choice(sg.operators).builtinOptions
            for f in ("strideW", "strideH", "dilationWFactor", "dilationHFactor", "padding",
                      "fusedActivationFunction", "filterWidth", "filterHeight", "depthMultiplier"):
                if o is not None and hasattr(o, f) and rng.random() < 0.4:
                    setattr(o, f, rng.choice([0, 1, 2, 3, 5, -1]))
        elif k == 3:
            t = rng.choice(sg.tensors)
            if t.quantization is not None and t.quantization.scale is not None:
                t.quantization.scale = [float(s) * rng.choice([0.5, 2.0, 1e-6, 1e6])
                                        for s in t.quantization.scale]
        else:
            t = rng.choice(sg.tensors)
            if t.quantization is not None and t.quantization.zeroPoint is not None:
                t.quantization.zeroPoint = [rng.randrange(-140, 140) for _ in t.quantization.zeroPoint]


@pytest.mark.slow
def test_mutated_models_fail_cleanly_or_run_in_bounds(valid_bytes, tmp_path):
    """Semantic mutations: either UserError, or generated C that compiles and runs on random
    inputs under ASan/UBSan without any out-of-bounds access (both kernel variants)."""
    from . import host

    rng = random.Random(11)
    base = _model(valid_bytes)
    ran = rejected = 0
    for trial in range(80):
        m = copy.deepcopy(base)
        _mutate(m, rng)
        try:
            r = _gen(tmp_path, _pack(m))
        except UserError:
            rejected += 1
            continue
        exe = host.build(tmp_path / "gen", "dsp" if trial % 2 else "ref")
        n_in = int(np.prod(r.input_shape)) * (4 if r.input_type == "float32" else 1)
        x = np.random.default_rng(trial).integers(0, 256, (3, n_in)).astype(np.uint8)
        host.run(exe, x, np.uint8, [-1])
        ran += 1
    assert rejected > 0 and ran > 0, (rejected, ran)
