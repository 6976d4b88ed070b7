"""The check on synthetic fleets drawn from a synthetic reference (the real model's fleets are
in test_end_to_end.py, slow)."""

import numpy as np
import pytest

from edgekit.monitor import analysis, store as st
from edgekit.monitor.ingest import ingest
from edgekit.monitor.reference import ReferenceSet
from edgekit.monitor.summary import PerSample, window_of

from tests.monitor.helpers import CLASSES, FEATURES, FakeSpec, record, write_jsonl

SPEC = FakeSpec()


def reference(n=3000, seed=0) -> ReferenceSet:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    correct = rng.random(n) < 0.8
    pred = np.where(correct, labels, (labels + 1) % CLASSES)
    conf = np.where(correct, rng.integers(10, 16, n), rng.integers(4, 12, n))
    fsum = rng.normal(0, 3, (n, FEATURES)).round().astype(np.int64) * 5
    ps = PerSample(pred, conf, fsum, fsum * fsum // 5 + 25, 5)
    return ReferenceSet("reference", ps, labels, [{"mic": "flat"}] * n, CLASSES, "0" * 64)


def fleet(tmp_path, ref, shifted, days=20, devices=30, n=60, seed=1, variants=None):
    """Records per device-day; shifted(device, day) -> True draws from a changed world:
    predictions of samples rotated by one class for a third of them. variants: firmware ->
    the firmware variant its devices report (cohort field firmware_variant)."""
    rng = np.random.default_rng(seed)
    rows = []
    bad = ref.samples.pred.copy()
    flip = rng.random(len(bad)) < 0.35
    bad[flip] = (bad[flip] + 1) % CLASSES
    ps_bad = PerSample(bad, np.maximum(ref.samples.conf_bin - flip * 4, 0), ref.samples.feature_sum,
                       ref.samples.feature_sumsq, 5)
    for d in range(devices):
        fw_day = 8 + d % 5 if d < 10 else None
        for day in range(days):
            fw = "v2" if fw_day is not None and day >= fw_day else "v1"
            idx = rng.integers(0, len(ref.labels), n)
            s = window_of(ps_bad if shifted(d, day, fw) else ref.samples, idx, CLASSES)
            dm = "dm-a" if d < 15 else "dm-b"
            cohort = {"device_model": dm, "firmware": fw}
            if variants:
                cohort["firmware_variant"] = variants[fw]
            rows.append(record(device=f"dev-{d}", day=day, n=n, cohort=cohort,
                               class_hist=s.class_hist, conf_hist=s.conf_hist,
                               feature_mean=s.feature_mean(), feature_var=s.feature_var(), labelled=[]))
    write_jsonl(tmp_path / "t.jsonl", rows)
    db = tmp_path / "m.duckdb"
    ingest([tmp_path / "t.jsonl"], db, SPEC)
    return db


def run(db, ref):
    with st.open_store(db, create=False) as s:
        return analysis.check(s, ref, SPEC, "cortex-m4", ["device_model", "firmware"])


def by(res):
    return {f"{c.field}={c.value}": c for c in res.cohorts}


def test_a_stationary_fleet_does_not_alarm_and_estimates_its_accuracy(tmp_path):
    ref = reference()
    res = run(fleet(tmp_path, ref, lambda d, day, fw: False), ref)
    assert not res.alarms
    c = by(res)["device_model=dm-a"]
    est = np.mean([w.est_accuracy for w in c.windows])
    assert abs(est - ref.correct.mean()) < 0.02
    assert all(w.est_low <= w.est_accuracy <= w.est_high for w in c.windows)


def test_a_step_with_a_new_firmware_is_skew_in_that_firmware(tmp_path):
    ref = reference()
    res = run(fleet(tmp_path, ref, lambda d, day, fw: fw == "v2"), ref)
    cs = by(res)
    assert cs["device_model=dm-a"].alarm and not cs["device_model=dm-b"].alarm and not cs["firmware=v1"].alarm
    v = cs["device_model=dm-a"].verdict
    assert v["kind"] == "skew" and v["version"] == "v2"
    # the telemetry does not name the variant v2 runs: the line says so and asks for captures
    assert v["confirm"] == ("edgekit skew --target cortex-m4 --model toy --captures DIR (DIR: captures from "
                            "device_model=dm-a, firmware=v2 devices); the telemetry does not say which firmware "
                            "variant firmware v2 runs (cohort field firmware_variant)")
    assert cs["firmware=v2"].verdict["kind"] == "skew"
    assert cs["device_model=dm-a"].detected_window in (9, 10)


def test_the_confirm_line_names_the_variant_the_devices_report(tmp_path):
    ref = reference()
    db = fleet(tmp_path, ref, lambda d, day, fw: fw == "v2", variants={"v1": "default", "v2": "fixed-q15"})
    cs = by(run(db, ref))
    for key in ("device_model=dm-a", "firmware=v2"):
        assert cs[key].verdict["confirm"] == "edgekit skew --target cortex-m4 --model toy --firmware-variant fixed-q15"


def test_a_change_on_every_firmware_and_hardware_model_is_world_drift(tmp_path):
    ref = reference()
    res = run(fleet(tmp_path, ref, lambda d, day, fw: day >= 10), ref)
    cs = by(res)
    c = cs["device_model=dm-a"]
    assert c.alarm and c.verdict["kind"] == "drift" and c.verdict["scope"] == "world"
    assert c.verdict["message"].startswith("world drift in device_model=dm-a: across firmware values")
    assert cs["device_model=dm-b"].verdict["scope"] == "world"
    assert c.change_window == 10
    assert c.verdict["estimated_drop_points"] > 1


def test_a_change_on_one_hardware_model_alone_is_drift_in_that_hardware_not_the_world(tmp_path):
    ref = reference()
    res = run(fleet(tmp_path, ref, lambda d, day, fw: day >= 10 and d < 15), ref)
    cs = by(res)
    assert not cs["device_model=dm-b"].alarm
    v = cs["device_model=dm-a"].verdict
    assert v["kind"] == "drift" and v["scope"] == "hardware" and v["value"] == "dm-a"
    assert v["message"].startswith("drift in device_model dm-a: across firmware values; the other device_model "
                                   "values on the same days are not drifted")
    assert "world" not in v["recommendation"] and "sensor" in v["recommendation"]
    assert v["others"]["dm-b"]["over_share"] <= 0.1 <= 0.5 <= v["carrying"]["over_share"]
    # a cohort spanning both hardware models names the one that carries its change
    w = cs["firmware=v1"].verdict
    assert w["scope"] == "hardware" and w["value"] == "dm-a" and "carries the change in firmware=v1" in w["message"]
    assert cs["device_model=dm-a"].change_window == 10


def test_unknown_by_field_is_a_user_error(tmp_path):
    from edgekit.errors import UserError

    ref = reference()
    db = fleet(tmp_path, ref, lambda d, day, fw: False, days=2, devices=2)
    with st.open_store(db, create=False) as s, pytest.raises(UserError, match="--by lighting"):
        analysis.check(s, ref, SPEC, "cortex-m4", ["lighting"])
