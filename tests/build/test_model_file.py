"""Your own model, no data: `edgekit build --model-file my_model.tflite` (and a model folder
whose weights are an int8 .tflite) converts nothing, builds, counts instructions on QEMU,
checks the budgets and compares the device with tflite-micro on generated inputs. The model
is the MLPerf Tiny anomaly-detection autoencoder, an architecture (and a task) the repository
does not ship, made here from Keras with random weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgekit.build import build, generated_inputs
from edgekit.models import load_model, model_for_file
from edgekit.targets import load_target

from tests.build.autoencoder import INPUTS, make_autoencoder_int8

TINY = Path(__file__).parent / "data" / "tiny_kws_int8.tflite"


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory) -> Path:
    return make_autoencoder_int8(tmp_path_factory.mktemp("ae") / "anomaly_ae.tflite")


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    cache = tmp_path / "empty-cache"
    monkeypatch.setenv("EDGEKIT_CACHE", str(cache))
    return {"EDGEKIT_CACHE": str(cache)}


def test_cli_build_model_file_with_no_data(run_cli, autoencoder, no_data, tmp_path):
    proc = run_cli("build", "--target", "cortex-m4", "--model-file", str(autoencoder), "--json", env=no_data)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["model"] == "anomaly_ae" and d["device_matches_tflm"] is True
    assert d["instructions_per_inference"] > 100_000 and d["budget"]["passed"] is True
    assert d["per_op"]["by_type"]["FULLY_CONNECTED"]["ops"] == 10
    notes = " ".join(d["notes"])
    assert "nothing converted" in notes and "accuracy needs data" in notes
    assert "bit for bit, on 8 inputs" in notes
    stage = tmp_path / "build" / "cortex-m4" / "anomaly_ae"
    assert (stage / "firmware.elf").is_file() and not (stage / "model_int8.tflite").exists()
    assert not Path(no_data["EDGEKIT_CACHE"]).exists()  # nothing was prepared
    # The table names the same things for a person.
    text = run_cli("build", "--target", "cortex-m4", "--model-file", str(autoencoder), env=no_data)
    words = " ".join(text.stdout.split())  # the console wraps long lines
    assert text.returncode == 0 and "yes, bit for bit" in words and "accuracy needs data" in words


def test_model_folder_whose_weights_are_int8_tflite(autoencoder, no_data, tmp_path):
    folder = tmp_path / "my-ae"
    folder.mkdir()
    (folder / "model.tflite").write_bytes(autoencoder.read_bytes())
    (folder / "model.yaml").write_text(yaml.safe_dump({
        "task": "anomaly-detection", "weights": "model.tflite",
        "preprocessing": {"kind": "tensor", "shape": [INPUTS]}}))
    spec = load_model(str(folder))
    assert spec.task == "anomaly-detection" and not spec.is_classifier and spec.labels == []
    res = build(spec, load_target("cortex-m4"), out_dir=tmp_path / "out")
    assert res.device_matches_tflm is True and res.firmware_variant == "none"
    assert res.instructions_per_inference > 0 and res.budget.passed
    assert not (tmp_path / "out" / "model_int8.tflite").exists()


def test_over_budget_on_a_board_file_is_exit_1(run_cli, autoencoder, no_data, tmp_path):
    board = tmp_path / "tiny-board.yaml"
    board.write_text(yaml.safe_dump({"extends": "cortex-m4", "budgets": {"flash_kb": 64}}))
    proc = run_cli("build", "--target", str(board), "--model-file", str(autoencoder), env=no_data)
    assert proc.returncode == 1, proc.stderr
    assert "flash" in proc.stderr and "64 KB" in proc.stderr and "Traceback" not in proc.stderr


def test_generated_inputs_span_the_quantized_range():
    x = generated_inputs((49, 10, 1), zero_point=-5, n=8)
    assert x.dtype == np.int8 and x.shape == (8, 49, 10, 1)
    assert (x[0] == -128).all() and (x[1] == 127).all() and (x[2] == -5).all()
    assert x[3:].min() == -128 and x[3:].max() == 127  # uniform rows reach both ends
    assert np.array_equal(x, generated_inputs((49, 10, 1), zero_point=-5, n=8))  # seeded


def test_model_for_file_reads_the_input_and_rejects_what_it_cannot_build(tmp_path):
    spec = model_for_file(TINY)
    assert spec.name == "tiny_kws_int8" and spec.preprocessing.output_shape == (49, 10, 1)
    keras = tmp_path / "m.keras"
    keras.write_bytes(b"x")
    from edgekit.errors import UserError

    with pytest.raises(UserError, match="must be an int8 .tflite"):
        model_for_file(keras)
    with pytest.raises(UserError, match="not found"):
        model_for_file(tmp_path / "nope.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(UserError, match="junk.tflite: malformed .tflite"):
        model_for_file(junk)


def test_cli_needs_a_model_or_a_file(run_cli):
    proc = run_cli("build", "--target", "cortex-m4")
    assert proc.returncode == 2 and "--model-file" in proc.stderr and "Traceback" not in proc.stderr
