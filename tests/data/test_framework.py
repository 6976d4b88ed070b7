"""edgekit.data: prepare/cache/load, cohort metadata, features, calibration selection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit import data
from edgekit.errors import UserError
from edgekit.models import load_model
from tests.data.kws_small import LIMIT, kws_small, kws_small_cache  # noqa: F401 (fixtures)


def test_every_sample_has_its_cohort_metadata(kws_small):
    spec, ds = kws_small
    assert len(ds.records) == 3 * LIMIT
    assert ds.counts() == {"train": LIMIT, "val": LIMIT, "test": LIMIT}
    for r in ds.records:
        for f in [*spec.cohort_fields, "speaker", "room", "word"]:
            assert f in r.cohort and r.cohort[f] not in ("", None), (r.id, f)
        assert isinstance(r.cohort["snr_db"], float)
        assert r.path.is_file() and r.path.is_relative_to(ds.root)
        assert r.split in data.SPLITS and 0 <= r.label < len(spec.labels)
    # Each split has every class (the manifest interleaves classes).
    for s in data.SPLITS:
        assert {r.label for r in ds.split(s)} == set(range(len(spec.labels)))


def test_prepare_is_idempotent_and_load_matches(kws_small):
    spec, ds = kws_small
    manifest = ds.root / data.MANIFEST_NAME
    before = manifest.stat().st_mtime_ns
    again = data.prepare(spec, seed=0, limit=LIMIT)
    assert manifest.stat().st_mtime_ns == before  # served from the cache, not regenerated
    assert [r.id for r in again.records] == [r.id for r in ds.records]
    assert again.data_hash == ds.data_hash == data.content_hash(ds.records)


def test_load_raw_and_split_arrays(kws_small):
    spec, ds = kws_small
    pcm = data.load_raw(spec, ds.records[0])
    assert pcm.dtype == np.int16 and pcm.shape == (16000,)
    X, y, recs = data.split_arrays(spec, "test")
    assert X.shape == (LIMIT, 49, 10, 1) and X.dtype == np.float32 and y.dtype == np.int64
    assert list(y) == [r.label for r in recs]
    from edgekit.preprocess import apply

    np.testing.assert_array_equal(X[3], apply(spec.preprocessing, data.load_raw(spec, recs[3])))
    X2, _, _ = data.split_arrays(spec, "test")  # from the feature cache
    np.testing.assert_array_equal(X, X2)
    Xl, yl, _ = data.split_arrays(spec, "test", limit=5)
    np.testing.assert_array_equal(Xl, X[:5])
    with pytest.raises(UserError, match="split"):
        data.split_arrays(spec, "holdout")


def test_load_dataset_missing_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    with pytest.raises(UserError, match="edgekit data prepare --model kws"):
        data.load_dataset(load_model("kws"))


def test_interrupted_generation_leaves_nothing_that_looks_valid(tmp_path, monkeypatch):
    from edgekit.data import kws_espeak

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))

    def broken(out_dir, seed, limit, progress):
        (out_dir / "audio").mkdir(parents=True)
        (out_dir / "audio" / "half.wav").write_bytes(b"RIFF")
        raise KeyboardInterrupt

    monkeypatch.setattr(kws_espeak, "generate", broken)
    spec = load_model("kws")
    with pytest.raises(KeyboardInterrupt):
        data.prepare(spec, limit=2)
    assert not data.dataset_dir(spec).exists()
    assert not list((tmp_path / "datasets").glob(".kws.tmp-*"))
    with pytest.raises(UserError):
        data.load_dataset(spec)


def test_calibration_covers_every_cohort_value_from_train(kws_small, tmp_path):
    spec, ds = kws_small
    manifest = tmp_path / "calib" / "manifest.json"
    n = 16
    recs = data.calibration_records(spec, n, manifest_path=manifest)
    assert len(recs) == n and all(r.split == "train" for r in recs)
    assert len({r.id for r in recs}) == n
    # A limited dataset never writes (or overwrites) a manifest.
    assert not manifest.exists()
    # Deterministic, and every label is represented when n >= the number of labels.
    assert [r.id for r in data.calibration_records(spec, n, manifest_path=manifest)] == [r.id for r in recs]
    assert {r.label for r in recs} == set(range(len(spec.labels)))
    X = data.calibration_set(spec, n, manifest_path=manifest)
    assert X.shape == (n, 49, 10, 1) and X.dtype == np.float32


def test_calibration_manifest_is_used_when_it_fits(kws_small, tmp_path):
    spec, ds = kws_small
    train = ds.split("train")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"data_hash": ds.data_hash, "ids": [r.id for r in train[-3:]]}))
    assert [r.id for r in data.calibration_records(spec, 3, manifest_path=manifest)] == [r.id for r in train[-3:]]
    manifest.write_text("{not json")
    with pytest.raises(UserError, match="manifest.json"):
        data.calibration_records(spec, 3, manifest_path=manifest)


def test_select_calibration_covers_all_values():
    recs = [data.SampleRecord(f"s{i}", "x", label=i % 3, split="train",
                              cohort={"mic": ["a", "b", "c", "d"][i % 4], "snr_db": float(i % 7)})
            for i in range(400)]
    picked = data.select_calibration(recs, ["mic", "snr_db"], 20)
    assert {r.cohort["mic"] for r in picked} == {"a", "b", "c", "d"}
    assert {r.cohort["snr_db"] for r in picked} == {float(v) for v in range(7)}
    counts = np.bincount([r.label for r in picked])
    assert counts.max() - counts.min() <= 1
    assert [r.id for r in data.select_calibration(recs, ["mic", "snr_db"], 20)] == [r.id for r in picked]


def test_limited_prepare_never_replaces_a_complete_dataset(kws_small, tmp_path, monkeypatch):
    import shutil

    spec, ds = kws_small
    # Pretend the small dataset is a complete one (limit None) in a scratch cache.
    cache = tmp_path / "cache"
    shutil.copytree(ds.root, cache / "datasets" / "kws")
    meta_path = cache / "datasets" / "kws" / data.META_NAME
    meta = json.loads(meta_path.read_text())
    meta["limit"] = None
    meta_path.write_text(json.dumps(meta))
    monkeypatch.setenv("EDGEKIT_CACHE", str(cache))
    few = data.prepare(spec, seed=0, limit=2)
    assert few.counts() == {"train": 2, "val": 2, "test": 2}
    assert [r.id for r in few.split("test")] == [r.id for r in ds.split("test")[:2]]
    assert len(data.load_dataset(spec).records) == len(ds.records)  # still all on disk
