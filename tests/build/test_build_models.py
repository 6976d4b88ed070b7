"""End to end on the reference models (slow: convert, firmware, QEMU). They need the trained
weights (models/<m>/model.keras, `edgekit train`) and the prepared datasets
(`edgekit data prepare`)."""

from __future__ import annotations

import json

import pytest

from edgekit.harness.verify import verify_against_tflm
from edgekit.models import load_model
from edgekit.targets import load_target

pytestmark = pytest.mark.slow


def test_kws_on_cortex_m4_within_budget_and_bit_exact_on_the_whole_test_split(run_cli, tmp_path):
    proc = run_cli("build", "--target", "cortex-m4", "--model", "kws", "--firmware-variant", "none", "--json",
                   timeout=3600)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["budget"]["passed"] is True
    assert d["instructions_per_inference"] > 0 and d["latency_ms_estimated"] > 0
    assert d["energy_per_inference_uj_estimated"] > 0 and d["flash_bytes"] > 0 and d["ram_bytes"] > 0
    stage = tmp_path / "build" / "cortex-m4" / "kws"
    r = verify_against_tflm(load_model("kws"), load_target("cortex-m4"), stage / "firmware.elf",
                            stage / "model_int8.tflite", "test")
    assert r.samples > 100 and r.mismatched_samples == 0, r


def test_mobilenetv2_bit_exact_on_200_test_images_on_cortex_m7(run_cli, tmp_path):
    proc = run_cli("build", "--target", "cortex-m7", "--model", "mobilenetv2", "--firmware-variant", "none",
                   timeout=3600)
    assert proc.returncode in (0, 1), proc.stderr  # 1: over a budget; the firmware exists either way
    stage = tmp_path / "build" / "cortex-m7" / "mobilenetv2"
    r = verify_against_tflm(load_model("mobilenetv2"), load_target("cortex-m7"), stage / "firmware.elf",
                            stage / "model_int8.tflite", "test", limit=200)
    assert r.samples == 200 and r.mismatched_samples == 0, r


def test_mobilenetv2_does_not_fit_the_small_cortex_m4(run_cli):
    proc = run_cli("build", "--target", "cortex-m4-small", "--model", "mobilenetv2", timeout=3600)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert "over budget on target cortex-m4-small" in err and "over by" in err
    assert "RAM" in err and "Traceback" not in err
