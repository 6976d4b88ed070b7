"""The committed calibration sets (calibration_data/<model>/): they load with no dataset
prepared, cover the cohorts, are what the prepared dataset gives, and a stale or missing
store falls back to the dataset instead of a silent wrong answer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit import data, resources
from edgekit.data import calibration
from edgekit.errors import UserError
from edgekit.models import load_model

from tests.data.kws_small import kws_small, kws_small_cache  # noqa: F401  (fixtures)


@pytest.mark.parametrize("name", ["kws", "mobilenetv2"])
def test_committed_set_loads_without_any_dataset(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "empty"))
    spec = load_model(name)
    X = data.calibration_set(spec)
    assert X.shape == (200, *spec.preprocessing.output_shape) and X.dtype == np.float32
    assert np.isfinite(X).all() and X.std() > 0
    saved = json.loads(data.calibration_manifest_path(spec).read_text())
    samples = saved["samples"]
    assert [s["id"] for s in samples] == saved["ids"] and len(samples) == 200
    # Drawn across cohorts: every label, and several values of every cohort field.
    assert {s["label"] for s in samples} == set(range(len(spec.labels)))
    for f in spec.cohort_fields:
        assert len({str(s["cohort"][f]) for s in samples}) >= 2, f
    assert not (tmp_path / "empty").exists()  # nothing was prepared


def test_the_repository_growth_stays_small():
    total = sum(p.stat().st_size for p in resources.calibration_dir().rglob("*") if p.is_file())
    assert total < 8 * 2**20, f"calibration_data/ holds {total / 2**20:.1f} MB"


def test_stale_features_are_never_used(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "empty"))
    spec = load_model("kws")
    other = spec.model_copy(update={"preprocessing": spec.preprocessing.model_copy(update={"mel_bins": 32})})
    # The committed features were made with 40 mel bins: the other spec goes to the dataset.
    with pytest.raises(UserError, match="edgekit data prepare --model kws"):
        data.calibration_set(other)


@pytest.mark.parametrize("kind", ["features", "raw"])
def test_written_store_gives_the_dataset_features(kind, kws_small, tmp_path, monkeypatch):
    spec, ds = kws_small
    if kind == "raw":
        monkeypatch.setattr(calibration, "MAX_FEATURES_BYTES", 0)
    chosen = data.select_calibration(ds.split("train"), list(spec.cohort_fields), 6)
    manifest = tmp_path / "calib" / "manifest.json"
    data.write_calibration_store(spec, chosen, manifest, ds.data_hash)
    saved = json.loads(manifest.read_text())
    assert saved["stored"]["kind"] == kind
    assert (manifest.parent / "raw").is_dir() == (kind == "raw")
    expected = data.features(spec, chosen)
    # From the store alone: the dataset gone, the same model inputs.
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "gone"))
    got = data.calibration_set(spec, 6, manifest_path=manifest)
    assert np.array_equal(got, expected)
    # Asking for more samples than the store holds is not served from it.
    with pytest.raises(UserError, match="not prepared"):
        data.calibration_set(spec, 7, manifest_path=manifest)


def test_missing_raw_file_names_it(kws_small, tmp_path, monkeypatch):
    spec, ds = kws_small
    monkeypatch.setattr(calibration, "MAX_FEATURES_BYTES", 0)
    chosen = ds.split("train")[:3]
    manifest = tmp_path / "calib" / "manifest.json"
    data.write_calibration_store(spec, chosen, manifest, ds.data_hash)
    victim = next((manifest.parent / "raw").iterdir())
    victim.unlink()
    with pytest.raises(UserError, match=victim.name):
        data.calibration_set(spec, 3, manifest_path=manifest)
