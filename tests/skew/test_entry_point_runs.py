"""End to end on the reference models: the Python entry point and captures flag a planted
preprocessing difference in the cohort that carries it, attributed to preprocessing with a
diagnosis naming its kind, measure the interaction with quantization where the planted
frontend leaves the calibrated input range (and not where it does not), and flag nothing on
a faithful implementation. No firmware is built (the int8 model runs on LiteRT's reference
kernels), so snapdragon-htp and Cortex-M targets take the same path."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "byo-preprocessing"


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("build")


def _run(monkeypatch, build_dir, seed_stage, model, target, kind, option, limit=None):
    from edgekit import resources
    from edgekit.models import load_model
    from edgekit.skew.host import skew_entry_point
    from edgekit.targets import load_target

    monkeypatch.setenv("EDGEKIT_BUILD", str(build_dir))
    spec, prof = load_model(model), load_target(target)
    if not (resources.stage_dir(prof.name, spec.name) / "model_int8.tflite").is_file():
        seed_stage(build_dir, model, target)   # the session's one conversion (tests/conftest.py)
    return skew_entry_point(spec, prof, kind, option, limit=limit)


def _cohort(res, field, value):
    return next(c for c in res.cohorts if (c["field"], c["value"]) == (field, value))


def test_kws_python_pipeline_planted_interaction_and_faithful(monkeypatch, build_dir, seed_stage):
    from edgekit.errors import CheckFailed
    from edgekit.skew import gate

    fe = EXAMPLES / "audio_pipeline.py"
    res = _run(monkeypatch, build_dir, seed_stage, "kws", "cortex-m4", "python", f"{fe}:headroom_bug", limit=100)
    own = [f for f in res.flagged if f["carried_by"] == f"{f['field']}={f['value']}"]
    assert [(f["field"], f["value"], f["stage"]) for f in own] == [("mic", "telephone", "preprocessing")]
    tel = _cohort(res, "mic", "telephone")
    assert tel["diagnosis"]["kind"] == "level difference" and tel["diagnosis"]["level_difference_db"] < -30
    inter = tel["interaction"]
    assert inter["significant"] and inter["ci_high"] < 0  # int8 loses more than float
    assert max(tel["saturation"]["device_low"]) > 0.3 and max(tel["saturation"]["reference"]) < 0.05
    assert _cohort(res, "mic", "flat")["parity"]["max_abs_diff"] == 0
    with pytest.raises(CheckFailed, match="mic=telephone"):
        gate(res)

    res = _run(monkeypatch, build_dir, seed_stage, "kws", "cortex-m4", "python", f"{fe}:agc_bug", limit=100)
    tel = _cohort(res, "mic", "telephone")
    assert tel["preprocessing_int8"]["significant"] and tel["preprocessing_int8"]["difference"] < -0.05
    assert tel["interaction"]["ci_low"] <= 0 <= tel["interaction"]["ci_high"]  # harmful alike: none

    res = _run(monkeypatch, build_dir, seed_stage, "kws", "cortex-m4", "python", f"{fe}:app_v1", limit=60)
    assert res.flagged == [] and all(c["parity"]["max_abs_diff"] == 0 for c in res.cohorts)
    gate(res)


def test_mobilenetv2_captures_planted_crop_and_faithful(monkeypatch, build_dir, seed_stage, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("write_captures", EXAMPLES / "write_captures.py")
    wc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wc)
    for fn in ("app_v2", "app_v1"):
        assert wc.main(["--model", "mobilenetv2", "--pipeline", f"{EXAMPLES / 'camera_pipeline.py'}:{fn}",
                        "--out", str(tmp_path / fn), "--per-cohort", "60"]) == 0

    res = _run(monkeypatch, build_dir, seed_stage, "mobilenetv2", "cortex-m7", "captures", tmp_path / "app_v2")
    own = [f for f in res.flagged if f["carried_by"] == f"{f['field']}={f['value']}"]
    assert [(f["field"], f["value"]) for f in own] == [("sensor", "sensor-a")]
    a = _cohort(res, "sensor", "sensor-a")
    assert a["diagnosis"]["kind"] == "spatial alignment" and "squeeze" in a["diagnosis"]["text"]
    assert a["preprocessing_int8"]["p_value"] < 0.05 and a["preprocessing_int8"]["ci_high"] < 0
    page = res.html.read_text()   # report.html draws the section (edgekit.report.entry_point)
    assert 'id="skew_entry_point"' in page and "Preprocessing skew in" in page and "sensor=sensor-a: -" in page
    assert "<b>sensor=sensor-a</b> (spatial alignment)" in page and "sensor=sensor-b:" not in page

    res = _run(monkeypatch, build_dir, seed_stage, "mobilenetv2", "cortex-m7", "captures", tmp_path / "app_v1")
    assert res.flagged == []
    # Pillow's antialiasing resize differs from the spec's, without costing accuracy here
    assert any(q["verdict"].startswith("preprocessing differs") for q in res.differs_not_significant)


def test_eval_captures_with_labels_and_device_outputs_writes_the_eval_section(monkeypatch, build_dir, seed_stage,
                                                                             tmp_path):
    """`edgekit eval --captures`: labelled captures with the device's outputs are an evaluation
    of the device end to end, so the eval section is written (schema-checked by report.html's
    writer) with the drop attributed to preprocessing; without labels or outputs it is not,
    and the result says why."""
    import csv
    import importlib.util
    import os
    import subprocess
    import sys

    from edgekit.models import load_model
    from edgekit.reportstore import read_report
    from edgekit.skew.captures_eval import evaluate_captures
    from edgekit.targets import load_target

    monkeypatch.setenv("EDGEKIT_BUILD", str(build_dir))
    seed_stage(build_dir, "kws", "cortex-m4")
    spec = importlib.util.spec_from_file_location("write_captures", EXAMPLES / "write_captures.py")
    wc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wc)
    caps = tmp_path / "caps"
    assert wc.main(["--model", "kws", "--pipeline", f"{EXAMPLES / 'audio_pipeline.py'}:headroom_bug",
                    "--out", str(caps), "--per-cohort", "30", "--outputs-target", "cortex-m4"]) == 0

    proc = subprocess.run([sys.executable, "-m", "edgekit", "eval", "--target", "cortex-m4", "--model", "kws",
                           "--captures", str(caps)], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "EDGEKIT_BUILD": str(build_dir)})
    assert proc.returncode == 1, proc.stderr[-2000:]          # mic=telephone fails its cohort gate
    assert "wrote section 'eval' (device end to end from the captured outputs)" in proc.stdout
    report = read_report(build_dir / "cortex-m4" / "kws")
    ev = report["eval"]
    assert ev["device_path"] == "device_e2e" and ev["samples"]["total"] == 90 and ev["captures"] == str(caps)
    assert ev["paths"]["device_features"]["status"] == "unavailable"
    flags = {(f["field"], f["value"]): f["stage"] for f in ev["flagged"]}
    assert flags[("mic", "telephone")] == "preprocessing" and ("mic", "flat") not in flags
    attr = {(a["field"], a["value"]): a for a in ev["attribution"]}
    assert attr[("mic", "telephone")]["preprocessing"]["difference"] < -0.1
    assert attr[("mic", "telephone")]["kernels"]["difference"] == 0   # the outputs are LiteRT's on the tensor
    assert any(not g["passed"] and g["subject"] == "mic=telephone" for g in ev["gates"])
    page = (build_dir / "cortex-m4" / "kws" / "report.html").read_text()
    assert "Who is worse off?" in page and 'id="skew_entry_point"' in page

    rows = list(csv.DictReader(open(caps / "manifest.csv")))
    for drop, words in (("label", "the captures have no labels"), ("output", "not every row has the device's output")):
        other = tmp_path / f"no-{drop}"
        other.mkdir()
        for sub in ("raw", "tensors"):
            os.symlink(caps / sub, other / sub)
        with open(other / "manifest.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=[c for c in rows[0] if c != drop])
            w.writeheader()
            w.writerows({k: v for k, v in r.items() if k != drop} for r in rows)
        res = evaluate_captures(load_model("kws"), load_target("cortex-m4"), str(other))
        assert not res.eval_written and res.eval_note.startswith(f"no eval section: {words}")
        assert read_report(build_dir / "cortex-m4" / "kws")["eval"]["captures"] == str(caps)   # kept as it was
    # without outputs, the gates hold the int8 model on the captured tensors against float
    assert res.device_path == "int8_device_pre" and any(not g["passed"] and g["subject"] == "mic=telephone"
                                                        for g in res.gates)
