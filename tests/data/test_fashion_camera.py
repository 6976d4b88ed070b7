"""The Fashion-MNIST camera bench: determinism, cohort metadata, and that cohorts differ physically."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from edgekit.data import fashion_camera as fc
from edgekit.errors import UserError

pytestmark = pytest.mark.skipif(not (fc.source_dir() / "t10k-images-idx3-ubyte.gz").is_file(),
                                reason="needs the Debian package dataset-fashion-mnist (make setup)")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    return out, fc.generate(out, seed=0, limit=9)


def test_same_seed_same_bytes_other_seed_other_images(small_bench, tmp_path):
    _, records = small_bench
    again = fc.generate(tmp_path / "again", seed=0, limit=9)
    assert [r.id for r in again] == [r.id for r in records]
    assert [_digest(r.path) for r in again] == [_digest(r.path) for r in records]
    assert [r.cohort for r in again] == [r.cohort for r in records]
    other = fc.generate(tmp_path / "other", seed=1, limit=9)
    assert {_digest(r.path) for r in other}.isdisjoint({_digest(r.path) for r in records})


def test_a_sample_does_not_depend_on_limit(small_bench, tmp_path):
    _, records = small_bench
    fewer = fc.generate(tmp_path / "fewer", seed=0, limit=4)
    by_id = {r.id: r for r in records}
    assert len(fewer) == 12
    for r in fewer:
        assert _digest(r.path) == _digest(by_id[r.id].path) and r.cohort == by_id[r.id].cohort


def test_every_sample_has_cohort_metadata_and_sensor_resolution(small_bench):
    _, records = small_bench
    sensors = {s.name: s for s in fc.SENSORS}
    lightings = {lt.name for lt in fc.LIGHTINGS}
    assert Counter(r.split for r in records) == {"train": 9, "val": 9, "test": 9}
    for r in records:
        assert set(r.cohort) == {"sensor", "lighting"}
        assert r.cohort["lighting"] in lightings
        sensor = sensors[r.cohort["sensor"]]
        frame = fc.load_raw(r.path)
        assert frame.dtype == np.uint8 and frame.shape == (sensor.height, sensor.width, 3)
        assert frame.shape[0] > 96 and frame.shape[1] > 96  # the device has to resize
        assert 0 <= r.label < 10 and r.id.startswith(r.split)


def test_test_split_is_balanced_over_sensor_and_lighting(small_bench):
    _, records = small_bench
    cells = Counter((r.cohort["sensor"], r.cohort["lighting"]) for r in records if r.split == "test")
    assert len(cells) == 9 and set(cells.values()) == {1}


def test_train_val_test_come_from_disjoint_source_images():
    plan = fc.split_plan(seed=0, limit=None)
    train, val = set(plan["train"]), set(plan["val"])
    assert not train & val
    assert all(part == "t10k" for part, _ in plan["test"])
    assert len(plan["test"]) <= 3000


def test_lighting_and_sensors_change_the_frame_measurably():
    images, _ = fc.load_source("t10k")
    garment = images[0]
    a, b = fc.SENSORS[0], fc.SENSORS[1]
    dark, normal, bright = fc.LIGHTINGS

    def shot(sensor, lighting, seed=7):
        return fc.render(garment, sensor, lighting, np.random.default_rng(seed)).astype(np.float64)

    # Brightness follows lighting; bright clips more pixels at 255.
    assert shot(a, dark).mean() < shot(a, normal).mean() < shot(a, bright).mean()
    assert (shot(a, bright) == 255).mean() >= (shot(a, normal) == 255).mean()
    # Same scene, two noise draws: the noisy budget sensor differs more from itself than sensor-a,
    # and dark (high gain) is noisier than normal.
    def noise(sensor, lighting):
        scene = fc.render_scene(garment, sensor.height, sensor.width, np.random.default_rng(1))
        f1 = fc.capture(scene, sensor, lighting, np.random.default_rng(2)).astype(np.float64)
        f2 = fc.capture(scene, sensor, lighting, np.random.default_rng(3)).astype(np.float64)
        return np.std(f1 - f2)
    assert noise(b, normal) > 1.5 * noise(a, normal)
    assert noise(a, dark) > noise(a, normal)
    # Colour gains: sensor-b's green cast shows in the channel balance of the same scene.
    scene = fc.render_scene(garment, 128, 128, np.random.default_rng(1))
    fa = fc.capture(scene, fc.Sensor(**{**a.__dict__, "width": 128, "height": 128}), normal, np.random.default_rng(2))
    fb = fc.capture(scene, b, normal, np.random.default_rng(2))
    ratio = lambda f: f[..., 1].mean() / f[..., 0].mean()  # noqa: E731
    assert ratio(fb) > ratio(fa) * 1.05


def test_missing_or_broken_source_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_FASHION_MNIST", str(tmp_path))
    with pytest.raises(UserError, match="dataset-fashion-mnist"):
        fc.load_source("t10k")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28]) + b"\0" * 100)
    with pytest.raises(UserError, match="truncated IDX"):
        fc.read_idx(tmp_path / "t10k-images-idx3-ubyte")


def test_prepare_through_the_data_framework(tmp_path, monkeypatch):
    from edgekit import data as data_lib
    from edgekit.models import load_model

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    spec = load_model("mobilenetv2")
    ds = data_lib.prepare(spec, seed=0, limit=9)
    assert ds.counts() == {"train": 9, "val": 9, "test": 9}
    assert all(set(spec.cohort_fields) <= set(r.cohort) for r in ds.records)
    again = data_lib.prepare(spec, seed=0, limit=9)  # cached: same data, same hash
    assert again.data_hash == ds.data_hash
    X, y, recs = data_lib.split_arrays(spec, "test")
    assert X.shape == (9, 96, 96, 3) and X.dtype == np.float32
    assert -1.0 <= X.min() < X.max() <= 1.0
