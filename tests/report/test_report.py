"""report.json schema, gates, junit.xml and report.html from synthetic records."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from edgekit import reportstore
from edgekit.errors import CheckFailed, UserError
from edgekit.report import gates, validate_eval, write_reports
from edgekit.report.schema import json_schema

from tests.report.synthetic import write_report_dir


def test_section_validates_and_keeps_other_sections(tmp_path):
    reportstore.write_section(tmp_path, "convert", {"per_layer": [{"name": "conv1", "rmse": 0.01}]})
    section = write_report_dir(tmp_path)
    report = reportstore.read_report(tmp_path)
    assert report["convert"]["per_layer"][0]["name"] == "conv1"
    validate_eval(report["eval"])
    assert "properties" in json_schema()
    # accuracy per cohort field and per combination, with intervals
    fields = {r["field"] for r in section["accuracy"]}
    assert {"all", "mic", "snr_db", "accent", "mic+snr_db"} <= fields
    assert section["paths"]["device_e2e"]["status"] == "unavailable"
    assert section["latency"]["model"]["p99"] >= section["latency"]["model"]["p50"]
    assert section["latency"]["model"]["time_how"].startswith("estimated")
    names = {b["name"] for b in section["budgets"]}
    assert {"flash", "RAM", "latency (estimated)", "energy per inference (estimated)"} <= names
    assert any(n.startswith("average power") for n in names)
    lat = next(b for b in section["budgets"] if b["unit"] == "ms")
    # p99 of 900,000..920,000 instructions x 1.2 / 64 MHz is about 17 ms
    assert 16.8 < lat["value"] < 17.3 and lat["passed"]


def test_the_degraded_cohort_is_flagged_and_attributed_to_kernels(tmp_path):
    section = write_report_dir(tmp_path)
    flagged = {(f["field"], f["value"]): f for f in section["flagged"]}
    assert ("mic", "cheap") in flagged
    assert flagged[("mic", "cheap")]["stage"] == "kernels"
    assert ("mic", "studio") not in flagged and ("mic", "phone") not in flagged
    assert section["bit_exact"]["equal"] < section["bit_exact"]["compared"]


def test_schema_rejects_a_broken_section(tmp_path):
    section = write_report_dir(tmp_path)
    broken = dict(section)
    del broken["paths"]
    with pytest.raises(UserError, match="does not match schema"):
        validate_eval(broken)
    with pytest.raises(UserError, match="schema version"):
        validate_eval({**section, "version": 99})


def test_gates_fail_with_a_table(tmp_path):
    section = write_report_dir(tmp_path, min_accuracy=0.99)
    with pytest.raises(CheckFailed) as exc:
        gates.enforce(section["gates"])
    failed = {(r["gate"], r["subject"]) for r in exc.value.table}
    assert ("min_accuracy", "device_features overall") in failed
    assert ("max_cohort_drop", "mic=cheap") in failed
    assert not any(g == "budget" for g, _ in failed)
    clean = write_report_dir(tmp_path, min_accuracy=0.5, bad_mic="none")
    gates.enforce(clean["gates"])  # nothing fails


def test_junit_and_html(tmp_path):
    reportstore.write_section(tmp_path, "convert", {"per_layer": [{"name": "conv1", "rmse": 0.01},
                                                                  {"name": "fc", "rmse": 0.03}]})
    section = write_report_dir(tmp_path)
    files = write_reports(tmp_path)
    suites = ET.parse(files.junit).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == len(section["gates"])
    failures = [c for c in cases if c.find("failure") is not None]
    assert {c.get("name") for c in failures} >= {"mic=cheap"}
    html = files.html.read_text()
    assert html.count("<svg") >= 5
    # self-contained: nothing loaded from elsewhere
    assert not any(s in html for s in ('src="http', "<link", "<script src", "url(http"))
    assert "mic=cheap" in html and "kernels" in html
    assert "rmse" in html  # the converter's per-layer error plot


def test_report_cli_regenerates_html(tmp_path, run_cli):
    write_report_dir(tmp_path)
    proc = run_cli("report", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["gates_failed"] >= 1 and (tmp_path / "report.html").is_file()
    proc = run_cli("report", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "no report.json" in proc.stderr


def test_a_frontend_drop_is_attributed_to_preprocessing():
    from edgekit.harness.summary import summarize
    from edgekit.targets import load_target
    from tests.report.synthetic import FIELDS, LABELS, records

    recs = records(600, bad_mic="none")
    for i, r in enumerate(recs):
        dev = dict(r["paths"]["device_features"])
        # the device frontend mishears 30% of "phone" clips; the other cohorts match
        if r["cohort"]["mic"] == "phone" and i % 10 < 3:
            dev["pred"] = (r["label"] + 5) % len(LABELS)
        dev["frontend_count"] = 400_000
        r["paths"]["device_e2e"] = dev
    sec = summarize(recs, target=load_target("cortex-m4"), model_name="kws", labels=LABELS, cohort_fields=FIELDS)
    assert sec["device_path"] == "device_e2e"
    flagged = {(f["field"], f["value"]): f["stage"] for f in sec["flagged"]}
    assert flagged.get(("mic", "phone")) == "preprocessing"
    assert ("mic", "studio") not in flagged
    # the request latency adds the frontend's count to the model's
    assert sec["latency"]["request"]["p50"] == sec["latency"]["model"]["p50"] + 400_000


def test_device_errors_are_a_failing_gate():
    from edgekit.harness.summary import summarize
    from edgekit.targets import load_target
    from tests.report.synthetic import FIELDS, LABELS, records

    recs = records(60, bad_mic="none")
    recs[3]["paths"]["device_features"] = {"status": "error", "reason": "crash", "detail": "HardFault"}
    sec = summarize(recs, target=load_target("cortex-m4"), model_name="kws", labels=LABELS, cohort_fields=FIELDS)
    assert sec["samples"]["device_errors"] == {"crash": 1}
    assert sec["paths"]["device_features"]["status"] == "partial"
    assert sec["paths"]["device_features"]["n"] == 59
    rows = gates.gate_rows(sec)
    assert [r for r in rows if r["gate"] == "device_errors" and not r["passed"]]


def _skew_section():
    stage = lambda d, sig: {"difference": d, "ci_low": d - 0.02, "ci_high": d + 0.02, "p_value": 0.001 if sig else 0.8,  # noqa: E731
                            "n": 300, "significant": sig}
    rows = [("all", "all", ["default", "no-crop"], -0.06), ("sensor", "sensor-a", ["no-crop"], -0.17),
            ("sensor", "sensor-b", ["default"], 0.0)]
    dec = [{"field": f, "value": v, "firmware": fw, "paths": {"float": {"n": 300, "accuracy": 0.87}},
            "quantization": stage(-0.003, False), "kernels": stage(0.0, False),
            "preprocessing": stage(d, d < 0), "parity": None} for f, v, fw, d in rows]
    pre = [{"field": "sensor", "value": "sensor-a", "stage": "preprocessing", "firmware": ["no-crop"],
            "carried_by": ["no-crop"], "difference": -0.17, "ci_low": -0.23, "ci_high": -0.11, "p_value": 1e-6, "n": 300}]
    return {"schema": "edgekit.skew", "target": "cortex-m7", "model": "mobilenetv2", "device": "qemu",
            "firmware": {"sensor=sensor-a": "no-crop", "*": "default"},
            "builds": {"no-crop": {"samples": 300, "flash_bytes": 500_000, "ram_bytes": 200_000,
                                   "how": "measured from link", "description": "whole frame squeezed"}},
            "samples": {"total": 600}, "max_cohort_drop": 0.02, "decomposition": dec, "decomposition_how": "measured",
            "parity": [], "parity_how": "measured", "flagged": [], "preprocessing_skew": pre,
            "examples": {"preprocessing": {"examples": [{"id": "test-0001", "label": "bag", "device_features": "bag",
                                                         "device_e2e": "coat", "cohort": {"firmware": "no-crop"}}]}}}


def test_html_and_junit_for_a_skew_run_and_an_npu_build_without_eval(tmp_path):
    reportstore.write_section(tmp_path, "skew", _skew_section())
    reportstore.write_section(tmp_path, "npu", {
        "target": "cortex-m7", "model": "mobilenetv2", "runtime": "vela", "ops_total": 66, "ops_on_npu": 65,
        "cpu_ops": [{"op_type": "SOFTMAX", "name": "sm", "on_npu": False}], "all_on_npu": False,
        "budgets_passed": True, "accuracy_source": "int8 reference", "notes": [],
        "budget": {"rows": [{"name": "flash", "value": 529.0, "budget": 1024.0, "margin": 495.0, "unit": "KB",
                             "how": "estimated by Vela", "passed": True}]}})
    files = write_reports(tmp_path)
    html = files.html.read_text()
    assert "Training&ndash;serving skew" in html and "sensor=sensor-a" in html and "no-crop" in html
    assert "65 of 66 ops on the NPU" in html and "SOFTMAX" in html and "estimated by Vela" in html
    cases = {(c.get("classname").rsplit(".", 1)[1], c.get("name")): c.find("failure") is not None
             for c in ET.parse(files.junit).getroot().findall(".//testcase")}
    assert cases[("preprocessing_skew", "sensor=sensor-a")] and not cases[("preprocessing_skew", "sensor=sensor-b")]
    assert cases[("npu_ops", "ops on the NPU")] and not cases[("budget", "flash")]
    assert files.gates_failed == 2 and files.gates_total == 5


def test_a_report_with_no_known_section_is_a_user_error(tmp_path):
    reportstore.write_section(tmp_path, "convert", {"per_layer": []})
    with pytest.raises(UserError, match="no eval, skew or npu section"):
        write_reports(tmp_path)
