"""The reference models (kws on cortex-m4, mobilenetv2 on cortex-m7) through the converter.

These use the committed weights (models/<m>/model.keras) and prepare the data when it is
missing (cached afterwards); a missing model file is a failure, never a skip.

Fast: a subset of the test split through both reference interpreters. Slow: the issue's
acceptance run: every test sample bit-exact between LiteRT-ref and tflite-micro, int8 within
1.5 points of float overall, the report with per-cohort, per-layer and arena figures.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.convert import INT8_NAME, QUANT_REPORT_NAME, convert
from edgekit.models import load_model
from edgekit.targets import load_target

PAIRS = [("kws", "cortex-m4"), ("mobilenetv2", "cortex-m7")]


def _reference(model: str):
    """A committed reference model with its data prepared (cached after the first time)."""
    from edgekit import data

    spec = load_model(model)
    assert spec.weights_path.is_file(), f"{spec.weights_path} is committed with the repository"
    data.prepare(spec)
    return spec


@pytest.mark.parametrize("model,target", PAIRS)
def test_subset_bit_exact(model, target, tmp_path):
    from edgekit import data

    spec = _reference(model)
    cal = data.calibration_set(spec)[:16]
    r = convert(spec, load_target(target), calibration=cal, test_set=data.split_arrays(spec, "test", limit=24),
                out_dir=tmp_path, verify_samples=None, layer_samples=4)
    assert r.bit_exactness.samples == 24 and r.bit_exactness.bit_exact
    assert r.input_quant.dtype == "int8" and r.output_quant.dtype == "int8"
    assert r.tflm_arena.smallest_working_bytes > 1000


@pytest.mark.slow
@pytest.mark.parametrize("model,target", PAIRS)
def test_acceptance(model, target, tmp_path):
    spec = _reference(model)
    r = convert(spec, load_target(target), out_dir=tmp_path, verify_samples=None)
    o = r.accuracy.overall
    assert r.bit_exactness.bit_exact and r.bit_exactness.samples == o.n  # every test sample
    assert abs(o.delta_points) <= 1.5, (o.float_accuracy, o.int8_accuracy)
    rep = json.loads((tmp_path / QUANT_REPORT_NAME).read_text())
    assert set(rep["accuracy"]["per_cohort"]) == set(spec.cohort_fields)
    assert len(rep["layers"]) > 5 and rep["dominant_layers"]
    assert rep["tflm_arena"]["smallest_working_bytes"] > 0
    assert (tmp_path / INT8_NAME).is_file()
    assert 3.0 < r.sizes.weight_ratio <= 4.0


@pytest.mark.slow
def test_cli_kws(run_cli, tmp_path):
    _reference("kws")
    proc = run_cli("convert", "--model", "kws", "--target", "cortex-m4", "--json", "--verify-samples", "32")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["model"] == "kws" and out["target"] == "cortex-m4"
    assert (tmp_path / "build" / "cortex-m4" / "kws" / INT8_NAME).is_file()
    assert np.isfinite(out["accuracy"]["overall"]["int8_accuracy"])
