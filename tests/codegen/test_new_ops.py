"""The ops added with the op registry (MUL, SUB, broadcasting ADD, MAXIMUM, MINIMUM,
CONCATENATION, SQUEEZE, HARD_SWISH, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE,
TRANSPOSE_CONV, LOGISTIC): generated C in the reference and DSP variants against tflite-micro, bit
for bit, on the host (the same check as test_kernels_bitexact; QEMU: tests/runtime)."""

from __future__ import annotations

import pytest

from edgekit.codegen.tflite_reader import read_tflite

from edgekit.interpreters import io_quant

from . import op_cases, tiny_models
from .cases import NEW_OP_CASES
from .test_kernels_bitexact import _check_case

# the op each case must exercise (the converter rewrites some: this catches it)
WANT = {"mul": {"MUL"}, "sub": {"SUB"}, "add_bc": {"ADD"}, "maximum": {"MAXIMUM"},
        "minimum": {"MINIMUM"}, "concat": {"CONCATENATION"}, "squeeze": {"SQUEEZE"},
        "hard_swish": {"HARD_SWISH"}, "resize_nearest": {"RESIZE_NEAREST_NEIGHBOR"},
        "hs_resize": {"HARD_SWISH", "RESIZE_NEAREST_NEIGHBOR", "STRIDED_SLICE"}, "strided_slice": {"STRIDED_SLICE"},
        "transpose_conv": {"TRANSPOSE_CONV"}, "logistic": {"LOGISTIC"},
        "elementwise": {"MUL", "SUB", "ADD", "MAXIMUM", "MINIMUM", "CONCATENATION", "SQUEEZE"}}


# ...and every op with its own case module (op_cases/<op>.py), with the int8 range ends
CASES = NEW_OP_CASES + op_cases.cases()


@pytest.fixture(scope="module")
def models():
    return tiny_models.ensure_models(CASES)


@pytest.mark.parametrize("k", range(len(CASES)), ids=[f"{c['op']}-{c['seed']}" for c in CASES])
def test_new_op_bitexact(k, models, tmp_path):
    case, path = CASES[k], models[k]
    if op_cases.is_op_case(case):
        assert op_cases.want(case) <= {o.name for o in read_tflite(path).operators}
        _check_case(case, path, tmp_path, extra=op_cases.range_ends(io_quant(path)[0].shape[1:]))
        return
    assert WANT[case["op"]] <= {o.name for o in read_tflite(path).operators}
    _check_case(case, path, tmp_path)
