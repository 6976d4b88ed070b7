"""The firmware case, end to end on QEMU (issue 7): a fleet where one device cohort runs a
firmware whose preprocessing differs from training. The skew run (edgekit.skew on the
harness) flags that cohort, attributes its drop to preprocessing and not to quantization;
the same samples on the clean firmware are not flagged.

Each model is one test, so pytest-xdist keeps its firmware builds and records on one
worker; the clean run reuses the records of the cohorts that ran the default firmware
already (same firmware, same samples), so only the variant cohort runs twice.

Sizes: PER_COHORT samples per value of the device cohort field, a few minutes each with
the batched QEMU path. The variant/cohort pairs are the ones that cost accuracy on the
trained models (see `python -m edgekit.frontends MODEL --tflite ...`): MobileNetV2's
no-crop (the whole 4:3 frame squeezed to 96x96 instead of its central square) on sensor-a,
a 160x120 sensor; KWS's Q15 FFT (fixed-q15) on the telephone microphone. MobileNetV2's
fast-resize (nearest-neighbour + integer normalisation) cost 5 points on sensor-b with an
earlier model but none (+0.3, p=1.0, n=300) with the retrained one, so it is not the
demonstration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgekit.errors import CheckFailed

pytestmark = pytest.mark.slow

FLEET_LIMIT = 600   # the fleet eval's samples: about 200 per microphone, most resumed from the skew run


def _demonstrate(monkeypatch, tmp_path, seed_stage, model: str, target: str, field: str, cohort: str,
                 variant: str, per_cohort: int, exact_default_parity: bool, cli: bool = False):
    from edgekit import data
    from edgekit.models import load_model
    from edgekit.reportstore import read_report
    from edgekit.skew import gate, load_cohort_firmware, skew
    from edgekit.targets import load_target

    monkeypatch.setenv("EDGEKIT_BUILD", str(tmp_path / "build"))
    seed_stage(tmp_path / "build", model, target)   # the session's one conversion (tests/conftest.py)
    spec, prof = load_model(model), load_target(target)
    data.prepare(spec)  # idempotent: the cached dataset when it is there
    fleet = load_cohort_firmware(spec, {cohort: variant})
    res = skew(spec, prof, cohort_firmware=fleet, limit=per_cohort, jobs=2)

    values = sorted({r["value"] for r in res.decomposition if r["field"] == field})
    assert cohort in values and len(values) >= 2
    dec = {(d["field"], d["value"]): d for d in res.decomposition}
    assert {"all", field, "firmware"} <= {d["field"] for d in res.decomposition}
    for d in res.decomposition:  # the per-stage decomposition for every cohort
        assert all(d[s] is not None and d[s]["ci_low"] <= d[s]["difference"] <= d[s]["ci_high"]
                   for s in ("quantization", "kernels", "preprocessing")), d
    # our kernels are bit-exact to the reference kernels: the kernel stage is exactly zero
    assert res.accuracy["int8_host"] == res.accuracy["device_features"]
    sec = read_report(tmp_path / "build" / target / model)["skew"]
    assert sec["bit_exact"]["share"] == 1.0 and sec["bit_exact"]["compared"] == res.samples

    # the variant cohort: flagged, and its drop is preprocessing, not quantization
    bad = dec[(field, cohort)]
    assert bad["firmware"] == [variant]
    pre, quant = bad["preprocessing"], bad["quantization"]
    assert pre["significant"] and pre["difference"] < -0.02, bad
    assert pre["difference"] < quant["difference"], bad
    skewed = {(f["field"], f["value"]) for f in res.preprocessing_skew}
    assert (field, cohort) in skewed
    # the host 2x2 through the same C frontend: the int8 effect matches the device's in sign,
    # and the float effect and their difference are measured with intervals
    h = bad["host_2x2"]
    assert h["preprocessing_int8"]["difference"] < 0 and h["preprocessing_float"] is not None
    assert h["interaction"]["ci_low"] <= h["interaction"]["difference"] <= h["interaction"]["ci_high"]
    assert "interaction" in next(f for f in res.preprocessing_skew if (f["field"], f["value"]) == (field, cohort))
    flags = {(f["field"], f["value"]): f["stage"] for f in res.flagged}
    assert flags.get((field, cohort)) == "preprocessing", res.flagged
    # the cohorts on the clean firmware: not flagged, no preprocessing change
    for v in values:
        if v != cohort:
            assert (field, v) not in skewed
            assert flags.get((field, v)) != "preprocessing"
            assert dec[(field, v)]["firmware"] == ["default"]
            if exact_default_parity:
                assert dec[(field, v)]["preprocessing"]["difference"] == 0
    # parity: the default frontend within one int8 step on >= 99% of elements; the variant not
    par = {(p["firmware"], p["field"], p["value"]): p for p in res.parity}
    assert par[("default", "all", "all")]["share_within_one_step"] >= 0.99
    assert par[(variant, "all", "all")]["max_abs_diff"] > 1
    # examples of disagreement come from the variant cohort, with a picture
    ex = res.examples["preprocessing"]["examples"]
    assert ex and ex[0]["cohort"][field] == cohort and ex[0]["device_features"] != ex[0]["device_e2e"]
    assert res.example_pictures and all(p.stat().st_size > 1000 for p in res.example_pictures)
    with pytest.raises(CheckFailed, match=f"{field}={cohort}"):
        gate(res)
    if cli:  # the command: same run (all resumed), JSON on stdout, exit 1 for the skew gate
        proc = subprocess.run([sys.executable, "-m", "edgekit", "skew", "--target", target, "--model", model,
                               "--cohort-firmware", f"{cohort}:{variant}", "--limit", str(per_cohort), "--json"],
                              capture_output=True, text=True, timeout=900,
                              env={**os.environ, "EDGEKIT_BUILD": str(tmp_path / "build")})
        assert proc.returncode == 1, proc.stderr[-2000:]
        out = json.loads(proc.stdout)
        assert out["resumed"] == res.samples and out["new"] == 0
        assert [(f["field"], f["value"]) for f in out["preprocessing_skew"]] == \
            [(f["field"], f["value"]) for f in res.preprocessing_skew]
        assert f"{field}={cohort}" in proc.stderr and "Traceback" not in proc.stderr
        _eval_fleet(tmp_path, model, target, field, cohort, variant, per_cohort)

    # the same samples on the clean firmware: no skew anywhere
    clean = skew(spec, prof, limit=per_cohort, jobs=2)
    assert clean.samples == res.samples
    assert clean.resumed >= res.samples - max(bad["paths"]["float"]["n"], 1)  # only the variant cohort re-ran
    assert clean.preprocessing_skew == []
    assert not any(f["stage"] == "preprocessing" for f in clean.flagged)
    cdec = {(d["field"], d["value"]): d for d in clean.decomposition}
    assert cdec[(field, cohort)]["firmware"] == ["default"]
    assert cdec[(field, cohort)]["quantization"]["difference"] == bad["quantization"]["difference"]
    gate(clean)
    return res, clean


def _eval_fleet(tmp_path, model, target, field, cohort, variant, per_cohort):
    """`edgekit eval --cohort-firmware` on the first FLEET_LIMIT test samples: the fleet as
    shipped. It resumes exactly the skew run's records among them (same samples on the same
    firmware), reports the firmware as a cohort, and flags the variant cohort as
    preprocessing, failing the cohort gate. (The whole split cost 600 more QEMU samples.)"""
    from edgekit import data
    from edgekit.models import load_model
    from edgekit.reportstore import read_report
    from edgekit.skew.firmware import select_samples

    proc = subprocess.run([sys.executable, "-m", "edgekit", "eval", "--target", target, "--model", model,
                           "--cohort-firmware", f"{cohort}:{variant}", "--limit", str(FLEET_LIMIT), "--json"],
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "EDGEKIT_BUILD": str(tmp_path / "build")})
    assert proc.returncode == 1, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    test = data.load_dataset(load_model(model)).split("test")
    skewed = {r.id for r in select_samples(test, [field], per_cohort)}
    mine = {r.id for r in test[:FLEET_LIMIT]}
    assert out["samples"] == FLEET_LIMIT and out["resumed"] == len(mine & skewed) > FLEET_LIMIT // 2
    assert out["new"] == len(mine - skewed)
    ev = read_report(tmp_path / "build" / target / model)["eval"]
    assert "firmware" in ev["cohort_fields"]
    assert ev["cohort_firmware"]["manifest"] == {f"{field}={cohort}": variant, "*": "default"}
    assert set(ev["cohort_firmware"]["builds"]) == {"default", variant}
    flags = {(f["field"], f["value"]): f["stage"] for f in ev["flagged"]}
    assert flags.get((field, cohort)) == "preprocessing", ev["flagged"]
    assert flags.get(("firmware", variant)) == "preprocessing", ev["flagged"]
    assert ("firmware", "default") not in flags
    for f in ev["flagged"]:  # a flagged cohort mixing firmware names the one that carries its drop
        if f["stage"] == "preprocessing" and len(f["firmware"]) > 1:
            assert f["carried_by"] == [variant], f
    assert any(not g["passed"] and g["subject"] == f"{field}={cohort}" for g in ev["gates"]), ev["gates"]
    carried = ev["cohort_firmware"]["flagged_cohorts_carried"]
    assert carried.get(variant) == sum(1 for f in ev["flagged"] if f["stage"] == "preprocessing")
    assert "default" not in carried or carried["default"] < carried[variant]


def test_mobilenetv2_no_crop_firmware_on_sensor_a(monkeypatch, tmp_path, seed_stage):
    # 100 per sensor: sensor-a's drop is -13.0 points [-20.7, -5.3], p=0.0023 on these samples
    # (the selection is deterministic), so the significance asserted still could fail; 300 per
    # sensor cost ~20 minutes of the suite
    _demonstrate(monkeypatch, tmp_path, seed_stage, "mobilenetv2", "cortex-m7", "sensor", "sensor-a", "no-crop",
                 per_cohort=100, exact_default_parity=True)


def test_kws_q15_fft_firmware_on_telephone_mic(monkeypatch, tmp_path, seed_stage):
    _demonstrate(monkeypatch, tmp_path, seed_stage, "kws", "cortex-m4", "mic", "telephone", "fixed-q15",
                 per_cohort=300, exact_default_parity=False, cli=True)
