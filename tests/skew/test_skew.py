"""edgekit.skew, fast parts: the cohort manifest, sample selection, the per-cohort
decomposition and the preprocessing-skew gate on hand-made records (the device runs are in
test_demonstrations.py, slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.data import SampleRecord
from edgekit.errors import CheckFailed, UserError
from edgekit.frontends.parity import ParityStats
from edgekit.models import load_model
from edgekit import skew as sk
from edgekit.harness import fleet
from edgekit.skew import analysis


def recs(n_per=4, sensors=("sensor-a", "sensor-b", "sensor-c"), lights=("bright", "dark")):
    out = []
    i = 0
    for k in range(n_per):
        for s in sensors:
            for light in lights:
                out.append(SampleRecord(f"x{i:04d}", Path(f"/nonexistent/{i}.png"), i % 10, "test",
                                        {"sensor": s, "lighting": light}))
                i += 1
    return out


@pytest.fixture(scope="module")
def mnv2():
    return load_model("mobilenetv2")


def test_manifest_maps_a_cohort_value_to_its_field_and_the_rest_to_default(mnv2):
    m = sk.load_cohort_firmware(mnv2, {"sensor-b": "fast-resize"}, records=recs())
    assert m.entries == (sk.CohortFirmwareEntry("sensor", "sensor-b", "fast-resize"),)
    assert m.variant_for({"sensor": "sensor-b", "lighting": "dark"}) == "fast-resize"
    assert m.variant_for({"sensor": "sensor-a", "lighting": "dark"}) == "default"
    assert m.variants == ["default", "fast-resize"]
    assert m.as_json() == {"sensor=sensor-b": "fast-resize", "*": "default"}


def test_manifest_inline_text_field_value_and_others(mnv2):
    m = sk.load_cohort_firmware(mnv2, "sensor=sensor-a:no-crop,lighting=dark:fast-resize", others="bgr",
                                records=recs())
    assert m.variant_for({"sensor": "sensor-a", "lighting": "dark"}) == "no-crop"  # first entry wins
    assert m.variant_for({"sensor": "sensor-c", "lighting": "dark"}) == "fast-resize"
    assert m.variant_for({"sensor": "sensor-c", "lighting": "bright"}) == "bgr"
    assert m.fields == ["sensor", "lighting"]


def test_manifest_yaml_file_with_star(mnv2, tmp_path):
    p = tmp_path / "fleet.yaml"
    p.write_text("# device fleet\nsensor-b: fast-resize\n'*': no-crop\n")
    m = sk.load_cohort_firmware(mnv2, str(p), records=recs())
    assert m.others == "no-crop" and m.variant_for({"sensor": "sensor-b"}) == "fast-resize"


@pytest.mark.parametrize("manifest, words", [
    ({"sensor-z": "fast-resize"}, ["sensor-z", "no cohort has this value", "sensor-a"]),
    ({"sensor-b": "turbo"}, ["turbo", "known", "fast-resize"]),
    ({"colour=red": "bgr"}, ["unknown cohort field", "colour"]),
    ({"sensor=sensor-q": "bgr"}, ["no test sample has sensor=sensor-q"]),
    ("sensor-b", ["cohort:variant"]),
    ({"sensor-b": 3}, ["expected a firmware variant name"]),
])
def test_manifest_errors_are_one_line_user_errors(mnv2, manifest, words):
    with pytest.raises(UserError) as e:
        sk.load_cohort_firmware(mnv2, manifest, records=recs())
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_manifest_value_in_two_fields_needs_field_equals_value(mnv2):
    rs = recs() + [SampleRecord("y", Path("/n"), 0, "test", {"sensor": "dark", "lighting": "dark"})]
    with pytest.raises(UserError, match="several cohort fields .*write field=value"):
        sk.load_cohort_firmware(mnv2, {"dark": "bgr"}, records=rs)


def test_missing_manifest_file_is_a_user_error(mnv2, tmp_path):
    with pytest.raises(UserError, match="not found"):
        sk.load_cohort_firmware(mnv2, str(tmp_path / "nope.yaml"), records=recs())


def test_select_samples_caps_each_value_of_the_field():
    rs = recs(n_per=10)
    got = sk.select_samples(rs, ["sensor"], 5)
    counts = {}
    for r in got:
        counts[r.cohort["sensor"]] = counts.get(r.cohort["sensor"], 0) + 1
    assert counts == {"sensor-a": 5, "sensor-b": 5, "sensor-c": 5}
    assert [r.id for r in got] == sorted(r.id for r in got)  # manifest order kept
    assert len(sk.select_samples(rs, ["sensor"], None)) == len(rs)
    both = sk.select_samples(rs, ["sensor", "lighting"], 4)
    assert max(sum(1 for r in both if r.cohort["lighting"] == v) for v in ("bright", "dark")) <= 4


def test_merge_parity_is_exact_over_firmware():
    a = ParityStats.of([np.array([0, 0, 1, 3], np.uint8)])
    b = ParityStats.of([np.array([0, 0, 0, 0, 0, 9], np.uint8), np.array([2, 0], np.uint8)])
    m = analysis.merge_parity([a, b])
    whole = ParityStats.of([np.array([0, 0, 1, 3, 0, 0, 0, 0, 0, 9, 2, 0], np.uint8)])
    assert m["max_abs_diff"] == whole.max_abs_diff == 9
    assert m["n_elements"] == 12 and m["n_samples"] == 3
    for k in ("mean_abs_diff", "share_differing", "share_within_one_step"):
        assert m[k] == pytest.approx(getattr(whole, k))


def _record(i, sensor, label, float_ok=True, int8_ok=True, feat_ok=True, e2e_ok=True):
    wrong = (label + 1) % 10
    part = lambda ok: {"status": "ok", "pred": label if ok else wrong}  # noqa: E731
    return {"id": f"r{i:04d}", "label": label, "cohort": {"sensor": sensor},
            "paths": {"float": part(float_ok), "int8_host": part(int8_ok),
                      "device_features": part(feat_ok), "device_e2e": part(e2e_ok)}}


def _section(records):
    from edgekit.harness.summary import summarize
    from edgekit.targets import load_target

    return summarize(records, target=load_target("cortex-m7"), model_name="mobilenetv2",
                     labels=[str(i) for i in range(10)], cohort_fields=["sensor"], max_cohort_drop=0.02)


def test_decomposition_flags_only_the_cohort_whose_preprocessing_step_drops():
    records = []
    for i in range(300):
        sensor = ("sensor-a", "sensor-b", "sensor-c")[i % 3]
        # everyone loses a little to quantization on 4 samples per cohort; sensor-b's firmware
        # frontend breaks 25 more samples that the device got right from host features
        q_loss = (i // 3) < 4
        pre_loss = sensor == "sensor-b" and 10 <= (i // 3) < 35
        records.append(_record(i, sensor, i % 10, int8_ok=not q_loss, feat_ok=not q_loss,
                               e2e_ok=not (q_loss or pre_loss)))
    sec = _section(records)
    dec = analysis.decomposition(sec)
    by = {(d["field"], d["value"]): d for d in dec}
    b = by[("sensor", "sensor-b")]
    assert b["preprocessing"]["difference"] == pytest.approx(-0.25)
    assert b["preprocessing"]["significant"] and b["quantization"]["difference"] == pytest.approx(-0.04)
    assert b["kernels"]["difference"] == 0
    assert b["paths"]["float"]["accuracy"] == 1.0 and b["paths"]["device_e2e"]["accuracy"] == pytest.approx(0.71)
    assert by[("sensor", "sensor-a")]["preprocessing"]["difference"] == 0
    firmware_of = {("sensor", "sensor-b"): {"fast-resize"}, ("sensor", "sensor-a"): {"default"},
                   ("sensor", "sensor-c"): {"default"}, ("all", "all"): {"default", "fast-resize"}}
    flagged = analysis.preprocessing_skew(dec, firmware_of, 0.02)
    assert [(f["field"], f["value"]) for f in flagged] == [("all", "all"), ("sensor", "sensor-b")]
    assert flagged[1]["firmware"] == ["fast-resize"]
    # the harness's own flag (float -> device) names preprocessing as the stage for sensor-b
    harness = {(f["field"], f["value"]): f["stage"] for f in sec["flagged"]}
    assert harness[("sensor", "sensor-b")] == "preprocessing"
    ex = analysis.examples(records, [str(i) for i in range(10)], [("sensor", "sensor-b")])
    assert ex["preprocessing"]["disagreeing"] == 25
    assert all(e["cohort"]["sensor"] == "sensor-b" for e in ex["preprocessing"]["examples"])
    assert ex["kernels"]["disagreeing"] == 0


def test_a_cohort_on_mixed_firmware_names_the_firmware_that_carries_its_drop():
    from edgekit.harness.summary import summarize
    from edgekit.targets import load_target

    records, variant_of = [], {}
    for i in range(600):
        sensor = ("sensor-a", "sensor-b", "sensor-c")[i % 3]
        r = _record(i, sensor, i % 10, e2e_ok=not (sensor == "sensor-b" and i < 180))  # 60 broken on sensor-b
        r["cohort"]["lighting"] = ("dark", "normal")[(i // 3) % 2]
        records.append(r)
        variant_of[r["id"]] = "fast-resize" if sensor == "sensor-b" else "default"
    sec = summarize(records, target=load_target("cortex-m7"), model_name="mobilenetv2",
                    labels=[str(i) for i in range(10)], cohort_fields=["sensor", "lighting"], max_cohort_drop=0.02)
    dec = analysis.decomposition(sec)
    split = fleet.preprocessing_by_firmware(records, variant_of, ["sensor", "lighting"], 0.02)
    firmware_of = {(f, v): set() for f, v in split}
    for d in dec:
        d["firmware"] = sorted(split.get((d["field"], d["value"]), {}))
        firmware_of[(d["field"], d["value"])] = set(d["firmware"])
        if len(d["firmware"]) > 1:
            d["preprocessing_by_firmware"] = split[(d["field"], d["value"])]
    dark = split[("lighting", "dark")]
    assert dark["fast-resize"]["n"] == 100 and dark["fast-resize"]["difference"] == pytest.approx(-0.3)
    assert dark["default"]["n"] == 200 and dark["default"]["difference"] == 0
    flagged = {(f["field"], f["value"]): f for f in analysis.preprocessing_skew(dec, firmware_of, 0.02)}
    assert flagged[("lighting", "dark")]["firmware"] == ["default", "fast-resize"]
    assert flagged[("lighting", "dark")]["carried_by"] == ["fast-resize"]
    assert flagged[("sensor", "sensor-b")]["carried_by"] == ["fast-resize"]


def test_small_preprocessing_drop_is_not_flagged():
    records = [_record(i, ("sensor-a", "sensor-b")[i % 2], i % 10, e2e_ok=not (i % 2 and i < 8))
               for i in range(200)]
    dec = analysis.decomposition(_section(records))
    assert analysis.preprocessing_skew(dec, {}, 0.02) == []  # 4 of 100 worse: not significant


def _result(pre):
    return sk.SkewResult(target="cortex-m7", model="mobilenetv2", directory=Path("."), report_json=Path("r.json"),
                         firmware={}, samples=1, resumed=0, new=1, accuracy={}, decomposition=[], parity=[],
                         flagged=[], preprocessing_skew=pre, examples={}, example_pictures=[], builds={}, wall_s=0.0)


def test_gate_fails_only_on_preprocessing_skew():
    sk.gate(_result([]))
    row = {"field": "sensor", "value": "sensor-b", "firmware": ["fast-resize"], "difference": -0.06,
           "ci_low": -0.09, "ci_high": -0.03, "p_value": 0.001, "n": 200}
    with pytest.raises(CheckFailed) as e:
        sk.gate(_result([row]))
    assert "sensor=sensor-b" in str(e.value) and "-6.0 points" in str(e.value)
    assert e.value.table[0]["subject"] == "sensor=sensor-b" and "fast-resize" in e.value.table[0]["detail"]


def test_cli_rejects_bad_input_with_exit_2(run_cli):
    p = run_cli("skew", "--target", "cortex-m7", "--model", "mobilenetv2", "--limit", "0")
    assert p.returncode == 2 and "--limit 0" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("skew", "--target", "cortex-m7", "--model", "mobilenetv2", "--firmware-variant", "turbo")
    assert p.returncode == 2 and "turbo" in p.stderr and "fast-resize" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("skew", "--target", "cortex-m55-ethos-u55", "--model", "mobilenetv2")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_gate_names_firmware_flags_whose_carried_by_lists_variants():
    row = {"field": "mic", "value": "telephone", "firmware": ["fixed-q15"], "carried_by": ["fixed-q15"],
           "difference": -0.06, "ci_low": -0.09, "ci_high": -0.03, "p_value": 0.001, "n": 200}
    with pytest.raises(CheckFailed, match=r"mic=telephone \(-6.0 points\)"):
        sk.gate(_result([row]))
