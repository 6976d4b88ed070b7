"""The ops added with the op registry (MUL, SUB, broadcasting ADD, MAXIMUM, MINIMUM,
CONCATENATION, SQUEEZE, HARD_SWISH, RESIZE_NEAREST_NEIGHBOR, STRIDED_SLICE,
TRANSPOSE_CONV, LOGISTIC): generated C in the reference and DSP variants against tflite-micro, bit
for bit, on the host (the same check as test_kernels_bitexact; QEMU: tests/runtime)."""

from __future__ import annotations

import pytest

from edgekit.codegen.tflite_reader import read_tflite

from . import tiny_models
from .cases import NEW_OP_CASES
from .test_kernels_bitexact import _check_case

# the op each case must exercise (the converter rewrites some: this catches it)
WANT = {"mul": {"MUL"}, "sub": {"SUB"}, "add_bc": {"ADD"}, "maximum": {"MAXIMUM"},
        "minimum": {"MINIMUM"}, "concat": {"CONCATENATION"}, "squeeze": {"SQUEEZE"},
        "hard_swish": {"HARD_SWISH"}, "resize_nearest": {"RESIZE_NEAREST_NEIGHBOR"},
        "hs_resize": {"HARD_SWISH", "RESIZE_NEAREST_NEIGHBOR", "STRIDED_SLICE"}, "strided_slice": {"STRIDED_SLICE"},
        "transpose_conv": {"TRANSPOSE_CONV"}, "logistic": {"LOGISTIC"},
        "elementwise": {"MUL", "SUB", "ADD", "MAXIMUM", "MINIMUM", "CONCATENATION", "SQUEEZE"}}


@pytest.fixture(scope="module")
def models():
    return tiny_models.ensure_models(NEW_OP_CASES)


@pytest.mark.parametrize("k", range(len(NEW_OP_CASES)), ids=[f"{c['op']}-{c['seed']}" for c in NEW_OP_CASES])
def test_new_op_bitexact(k, models, tmp_path):
    case, path = NEW_OP_CASES[k], models[k]
    assert WANT[case["op"]] <= {o.name for o in read_tflite(path).operators}
    _check_case(case, path, tmp_path)
