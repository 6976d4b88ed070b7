"""TANH's refusal: an output quantized other than TFLM's kernel assumes (scale 1/128, zero
point 0) is one line naming the operator, before any C is written, not a silently wrong
model. Its bit-exact cases are op_cases/tanh.py."""

from __future__ import annotations

import pytest

from edgekit.codegen import generate
from edgekit.errors import UserError

from . import op_cases


def test_output_quantization_other_than_the_kernels_is_refused(tmp_path):
    def zero_point_5(m):
        (op,) = m.subgraphs[0].operators
        q = m.subgraphs[0].tensors[op.outputs[0]].quantization
        assert list(q.zeroPoint) == [0]
        q.zeroPoint = [5]

    case = next(c for c in op_cases.module("tanh").CASES if c.get("direct"))
    bad = op_cases.edited_model(case, zero_point_5, tmp_path / "zp5.tflite")
    with pytest.raises(UserError) as exc:
        generate(bad, tmp_path / "gen", "zp5")
    msg = str(exc.value)
    assert "TANH" in msg and "must be 1/128 and 0" in msg and "zero point 5" in msg and "\n" not in msg
    assert not (tmp_path / "gen" / "model.c").exists()
