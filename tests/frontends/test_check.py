"""check_frontends on a prepared (user manifest) dataset, and its report section."""

from __future__ import annotations

import json
import shutil

import pytest

from edgekit.errors import UserError
from edgekit.frontends import InputQuant
from edgekit.frontends.check import check_frontends, record
from edgekit.models import load_model

from .conftest import synth_images


@pytest.fixture
def camera_model(tmp_path, monkeypatch):
    """A copy of mobilenetv2 whose dataset is a small user manifest with a sensor cohort."""
    from PIL import Image

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "cam"
    shutil.copytree(load_model("mobilenetv2").folder, folder, ignore=shutil.ignore_patterns("*.keras", "*.tflite"))
    (folder / "img").mkdir()
    rows = ["path,label,split,sensor,lighting"]
    for sensor, shape in (("wide", (120, 160)), ("square", (128, 128))):
        for i, img in enumerate(synth_images(3, seed=len(sensor), shape=shape)):
            Image.fromarray(img).save(folder / "img" / f"{sensor}{i}.png")
            rows.append(f"img/{sensor}{i}.png,bag,test,{sensor},normal")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    text = (folder / "model.yaml").read_text().replace("dataset: fashion-camera", "dataset: manifest.csv")
    (folder / "model.yaml").write_text(text)
    spec = load_model(str(folder))
    from edgekit.data import prepare

    prepare(spec)
    return spec


def test_check_and_report_section(camera_model, tmp_path):
    res = check_frontends(camera_model, ["default", "no-crop"], per_cell=None, quant=InputQuant(2 / 255, 0))
    assert res.n_samples == 6 and set(res.parity) == {"default", "no-crop"}
    assert res.parity["default"].passed and res.parity["default"].overall.max_abs_diff <= 1
    crop = res.parity["no-crop"].per_cohort["sensor"]
    # Squeezing instead of cropping changes nothing on a square sensor, a lot on a 4:3 one.
    assert crop["square"].max_abs_diff == 0 and crop["wide"].share_differing > 0.3
    path = record(tmp_path / "stage", res)
    section = json.loads(path.read_text())["frontend"]
    assert section["parity"]["default"]["passed"] is True
    assert section["parity"]["no-crop"]["per_cohort"]["sensor"]["wide"]["max_abs_diff"] > 0
    assert section["parity"]["default"]["how"].startswith("measured")


def test_check_needs_a_quantization_and_known_variants(camera_model):
    with pytest.raises(UserError, match="input quantization"):
        check_frontends(camera_model)
    with pytest.raises(UserError, match="unknown for model"):
        check_frontends(camera_model, ["nope"], quant=InputQuant(0.01, 0))
