"""RESIZE_BILINEAR's refusals: align_corners with half_pixel_centers (TFLM refuses it in
Prepare) is one line naming the operator, before any C is written. Its bit-exact cases are
op_cases/resize_bilinear.py."""

from __future__ import annotations

import pytest
from ai_edge_litert import schema_py_generated as S

from edgekit.codegen import generate
from edgekit.errors import UserError

from . import op_cases


def test_both_flags_are_refused(tmp_path):
    def both_flags(m):
        (op,) = [o for o in m.subgraphs[0].operators
                 if m.operatorCodes[o.opcodeIndex].builtinCode == S.BuiltinOperator.RESIZE_BILINEAR]
        assert op.builtinOptions.halfPixelCenters
        op.builtinOptions.alignCorners = True

    case = next(c for c in op_cases.module("resize_bilinear").CASES if c.get("mode", "half_pixel") == "half_pixel")
    bad = op_cases.edited_model(case, both_flags, tmp_path / "both.tflite")
    with pytest.raises(UserError) as exc:
        generate(bad, tmp_path / "gen", "both")
    msg = str(exc.value)
    assert "RESIZE_BILINEAR" in msg and "align_corners and half_pixel_centers" in msg and "\n" not in msg
    assert not (tmp_path / "gen" / "model.c").exists()
