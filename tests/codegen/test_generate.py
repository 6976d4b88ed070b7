"""generate(): the result dataclass, the report section, per-op MACs, atomic outputs."""

from __future__ import annotations

import json

import pytest

from edgekit.codegen import generate

from . import tiny_models
from .cases import FIXED_CASES

CNN = FIXED_CASES[7]   # 16x10x1 -> conv 3x3/2 (8) -> dw 3x3 -> pw 1x1 (8) -> add -> maxpool -> mean -> fc 6


@pytest.fixture(scope="module")
def cnn_path():
    return tiny_models.ensure_models([CNN])[0]


def test_result_and_macs(cnn_path, tmp_path):
    r = generate(cnn_path, tmp_path / "gen", "cnn", report_dir=tmp_path)
    macs = {o.op: [] for o in r.ops}
    for o in r.ops:
        macs[o.op].append(o.macs)
    assert macs["CONV_2D"] == [8 * 5 * 8 * 9 * 1, 8 * 5 * 8 * 8]
    assert macs["DEPTHWISE_CONV_2D"] == [8 * 5 * 8 * 9]
    assert macs["FULLY_CONNECTED"] == [8 * 6]
    assert r.total_macs == 2880 + 2560 + 2880 + 48
    assert r.input_shape == [1, 16, 10, 1] and r.input_type == "int8"
    assert r.output_shape == [1, 6] and r.output_zero_point == -128
    assert len(r.model_hash) == 16
    assert r.weights_bytes >= 9 * 8 + 9 * 8 + 64 + 48      # at least the int8 weights
    assert all(p.is_file() for p in r.sources)
    section = json.loads((tmp_path / "report.json").read_text())["codegen"]
    assert section["arena_bytes"] == r.arena_bytes and section["total_macs"] == r.total_macs
    assert "planned" in section["arena_bytes_how"]
    text = (tmp_path / "gen" / "model.c").read_text()
    assert f'"{r.model_hash}"' in text and "ek_model_invoke" in text
    assert not list((tmp_path / "gen").glob(".*tmp"))    # no temporaries left behind


def test_regeneration_is_deterministic(cnn_path, tmp_path):
    generate(cnn_path, tmp_path / "a", "cnn")
    generate(cnn_path, tmp_path / "b", "cnn")
    for name in ("model.c", "model_data.c", "model_data.h"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
