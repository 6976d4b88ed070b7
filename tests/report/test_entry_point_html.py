"""report.html draws the `skew_entry_point` section (edgekit.report.entry_point) as
edgekit.skew.host writes it; the real section of a captures run is drawn in
tests/skew/test_entry_point_runs.py (slow)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from edgekit import reportstore
from edgekit.report import write_reports
from edgekit.report.gates import skew_gate_rows


def _diff(d, lo, hi, p, sig):
    return {"n": 100, "difference": d, "ci_low": lo, "ci_high": hi, "p_value": p, "significant": sig}


def _cohort(field, value, pre, parity_max, diagnosis=None, device=None):
    return {"field": field, "value": value, "n": 100, "failures": 0,
            "accuracy": {"float": {"n": 100, "accuracy": 0.9, "ci_low": 0.83, "ci_high": 0.94}},
            "preprocessing_int8": pre, "preprocessing_float": _diff(-0.11, -0.18, -0.04, 0.004, True),
            "quantization": _diff(0.0, -0.03, 0.03, 1.0, False),
            "interaction": _diff(-0.02, -0.06, 0.02, 0.33, False), "device_numerics": device,
            "parity": {"n_samples": 100, "n_elements": 2764800, "max_abs_diff": parity_max, "mean_abs_diff": 1.5,
                       "share_differing": 0.62 if parity_max else 0.0, "share_within_one_step": 0.4},
            "saturation": {"range": [-1, 1], "axis": "channel", "device_high": [0.01, 0.07, 0.0],
                           "device_low": [0.0, 0.02, 0.0], "reference": [0.0, 0.03, 0.0], "how": "measured"},
            "detectable_drop": 0.078, "diagnosis": diagnosis}


def section(flagged: bool = True) -> dict:
    squeeze = {"kind": "spatial alignment", "text": "horizontal squeeze x0.75 (aspect ratio)"}
    cohorts = [_cohort("all", "all", _diff(-0.05, -0.08, -0.02, 0.01, True), 254, squeeze),
               _cohort("sensor", "sensor-a", _diff(-0.13, -0.207, -0.053, 0.0023, flagged) if flagged
                       else _diff(-0.01, -0.04, 0.02, 0.5, False), 253, squeeze),
               _cohort("sensor", "sensor-b", _diff(0.01, -0.02, 0.04, 1.0, False), 3)]
    flag = [{"field": "sensor", "value": "sensor-a", "stage": "preprocessing", "n": 100, "firmware": ["captures:app_v2"],
             "difference": -0.13, "ci_low": -0.207, "ci_high": -0.053, "p_value": 0.0023,
             "summary": "-13.0 points in int8, -11.0 in float", "carried_by": "sensor=sensor-a",
             "kind": "spatial alignment"}] if flagged else []
    return {"schema": "edgekit.skew.entry_point", "version": 1, "target": "cortex-m7", "model": "mobilenetv2",
            "entry_point": {"entry_point": "captures", "version": "app_v2", "on_device": False},
            "samples": 300, "failures": [{"id": "img-7", "cohort": {}, "reason": "tensor shape (1, 2) != (96, 96, 3)"}],
            "skipped": [{"where": "manifest.csv:4", "id": "img-9", "problem": "label 'cat' is not a label of the model"}],
            "measure": "accuracy", "measure_how": "measured: accuracy against the true labels",
            "accuracy": {"float": 0.9, "int8_host": 0.89, "int8_device_pre": 0.84},
            "cohorts": cohorts, "preprocessing_skew": flag,
            "differs_not_significant": [{"field": "sensor", "value": "sensor-b", "n": 100, "detectable_drop": 0.078,
                                         "verdict": "preprocessing differs, accuracy not affected at this sample size",
                                         "kind": "blur"}],
            "max_cohort_drop": 0.02,
            "gates": skew_gate_rows({"decomposition": [{"field": c["field"], "value": c["value"],
                                                        "preprocessing": c["preprocessing_int8"],
                                                        "firmware": ["captures:app_v2"]} for c in cohorts],
                                     "preprocessing_skew": flag, "max_cohort_drop": 0.02}),
            "how": "measured: paired differences per cohort"}


def test_the_entry_point_section_is_drawn_with_its_flags_cohorts_and_failures(tmp_path):
    reportstore.write_section(tmp_path, "skew_entry_point", section())
    files = write_reports(tmp_path)   # the section alone is enough for a page
    html = files.html.read_text()
    assert 'id="skew_entry_point"' in html and "captures app_v2" in html and "mobilenetv2 on cortex-m7" in html
    assert "Preprocessing skew in 1 cohort(s)" in html and "-13.0 points in int8" in html and "p=0.0023" in html
    assert "<b>sensor=sensor-a</b> (spatial alignment): horizontal squeeze x0.75" in html
    assert ">-13.0</span> [-20.7, -5.3]" in html          # the flagged cohort's int8 effect with its interval
    assert "253 / 62.0%" in html and "9% (3%)" in html     # parity; clipped, implementation (reference)
    assert "device numerics" not in html                   # no device outputs in these captures
    assert "sensor=sensor-b</td><td class=\"num\">100</td><td class=\"num\">7.8</td><td>blur" in html
    assert "tensor shape (1, 2)" in html and "manifest.csv:4" in html
    cases = {c.get("name"): c.find("failure") is not None for c in ET.parse(files.junit).getroot().iter("testcase")}
    assert cases["sensor=sensor-a"] and not cases["sensor=sensor-b"]


def test_a_faithful_entry_point_reads_no_skew_and_device_numerics_show_when_measured(tmp_path):
    sec = section(flagged=False)
    for c in sec["cohorts"]:
        c["device_numerics"] = _diff(-0.01, -0.03, 0.01, 0.5, False)
    reportstore.write_section(tmp_path, "skew_entry_point", sec)
    html = write_reports(tmp_path).html.read_text()
    assert "No cohort shows preprocessing skew" in html and "Preprocessing skew in" not in html
    assert "device numerics" in html and html.count(">-1.0</span> [-3.0, +1.0]") == 3


def test_device_clip_share_names_the_channel_clipping_most():
    from edgekit.report.entry_point import device_clip_share

    sat = {"device_high": [0.1, 0.0, 0.3], "device_low": [0.05, 0.4, 0.2]}
    worst, share = device_clip_share(sat)
    assert worst == 2 and abs(share - 0.5) < 1e-12
    assert device_clip_share({"device_high": [], "device_low": []}) == (0, 0.0)
