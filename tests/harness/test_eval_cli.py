"""`edgekit eval` input errors: one line, exit 2, before anything is built."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args, message", [
    (["--limit", "0"], "--limit 0: must be a positive"),
    (["--jobs", "0"], "--jobs 0: must be at least 1"),
    (["--cohorts", "mic+bogus"], "unknown cohort field 'bogus'"),
    (["--min-accuracy", "85"], "--min-accuracy 85.0: must be a fraction"),
    (["--device", "usb"], "unknown device"),
    (["--cohort-firmware", "telephone:turbo"], "--cohort-firmware: telephone: variant turbo unknown for model kws"),
    (["--cohort-firmware", "bogus:fixed-q15"], "--cohort-firmware: bogus: no cohort has this value"),
    (["--cohorts", "mic+firmware"], "unknown cohort field 'firmware'"),
])
def test_bad_input_is_a_one_line_user_error(run_cli, args, message):
    proc = run_cli("eval", "--target", "cortex-m4", "--model", "kws", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ethos_u_eval_points_to_the_int8_reference(run_cli):
    proc = run_cli("eval", "--target", "cortex-m55-ethos-u55", "--model", "kws")
    assert proc.returncode == 2 and "int8 semantics" in proc.stderr and "edgekit convert" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cohort_firmware_needs_a_target_with_an_on_device_frontend(run_cli):
    proc = run_cli("eval", "--target", "snapdragon-htp", "--model", "mobilenetv2",
                   "--cohort-firmware", "sensor-a:no-crop")
    assert proc.returncode == 2 and "no on-device frontend" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_json_stdout_is_kept_clean_of_library_prints(capfd):
    import os

    from edgekit.cli._common import stdout_to_stderr

    with stdout_to_stderr(True):
        os.write(1, b"TensorSpec noise\n")  # what a library writing to fd 1 does
    os.write(1, b"{}\n")
    out, err = capfd.readouterr()
    assert out == "{}\n" and "TensorSpec noise" in err


def test_json_carries_what_the_tables_show(tmp_path):
    """`eval --json` holds per-cohort accuracy with intervals, the flagged cohorts with their
    stage and p, and the gates, from the section the evaluation wrote (synthetic records, one
    cohort whose device path loses accuracy)."""
    import json
    from pathlib import Path

    from edgekit.cli._common import to_jsonable
    from edgekit.cli.eval import json_payload
    from edgekit.harness.evaluate import EvalResult
    from tests.report.synthetic import write_report_dir

    sec = write_report_dir(tmp_path, min_accuracy=0.99)
    res = EvalResult(directory=tmp_path, report_json=tmp_path / "report.json", html=tmp_path / "report.html",
                     junit=tmp_path / "junit.xml", records=tmp_path / "records.jsonl", samples=600, resumed=0,
                     new=600, accuracy={p: v.get("accuracy") for p, v in sec["paths"].items()},
                     flagged=sec["flagged"], gates_failed=sum(not g["passed"] for g in sec["gates"]), wall_s=1.0)
    out = json.loads(json.dumps(to_jsonable(json_payload(res))))
    assert out["samples"] == 600 and set(out["accuracy"]) == set(sec["paths"])  # the old keys stay
    cheap = next(r for r in out["per_cohort"]
                 if r["field"] == "mic" and r["value"] == "cheap" and r["path"] == "device_features")
    assert 0 <= cheap["ci_low"] < cheap["accuracy"] < cheap["ci_high"] <= 1 and cheap["n"] == 200
    assert out["paths"]["float"]["ci_low"] < out["paths"]["float"]["accuracy"]
    flag = next(f for f in out["flagged"] if f["field"] == "mic" and f["value"] == "cheap")
    assert flag["stage"] == "kernels" and flag["p_value"] < 0.05
    assert any(g["gate"] == "min_accuracy" and not g["passed"] for g in out["gates"])
    assert any(not g["passed"] and g["subject"] == "mic=cheap" for g in out["gates"])
    assert {b["name"] for b in out["budgets"]} >= {"flash", "RAM"}
    assert Path(out["report_json"]) == tmp_path / "report.json"
