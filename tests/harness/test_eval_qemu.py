"""End to end on real QEMU with the trained KWS model: `edgekit eval` writes the three
reports; kill -9 midway and a rerun resume and end with the same eval section; the plugin's
device fixture is a real session. One test, so that pytest-xdist runs it on one worker and
the firmware is built once. Slow: it builds the firmware and runs QEMU."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
pytest_plugins = ["pytester"]

LIMIT = 64
ARGS = ["eval", "--target", "cortex-m4", "--model", "kws", "--limit", str(LIMIT), "--jobs", "2",
        "--cohorts", "mic+snr_db", "--json"]


def _section(build: Path) -> dict:
    return json.loads((build / "cortex-m4" / "kws" / "report.json").read_text())["eval"]


def _kill_orphaned_qemu(build: Path) -> None:
    """QEMU runs in its own session, so it outlives a SIGKILLed host; end the ones this test
    started (their command line names this test's build folder), by pid."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in cmd and str(build) in cmd:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_eval_on_qemu_reports_resumes_and_serves_the_plugin(tmp_path, pytester, monkeypatch, seed_stage):
    from edgekit import data
    from edgekit.models import load_model
    from edgekit.report.schema import validate_eval

    data.prepare(load_model("kws"))  # idempotent: the cached dataset when it is there
    build = tmp_path / "build"
    seed_stage(build, "kws", "cortex-m4")   # the session's one conversion (tests/conftest.py)
    env = {**os.environ, "EDGEKIT_BUILD": str(build)}
    cmd = [sys.executable, "-m", "edgekit", *ARGS]

    # 1. a whole run
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode in (0, 1), proc.stderr  # 1 = a gate failed; the reports are written anyway
    out = json.loads(proc.stdout)
    assert out["samples"] == LIMIT and out["new"] == LIMIT
    d = build / "cortex-m4" / "kws"
    sec = _section(build)
    validate_eval(sec)
    assert sec["device_path"] in ("device_features", "device_e2e")
    assert sec["paths"]["device_features"]["n"] == LIMIT
    assert {"mic", "snr_db", "accent", "mic+snr_db"} <= {r["field"] for r in sec["accuracy"]}
    lat = sec["latency"]["model"]
    assert lat["unit"] == "instructions (emulated)" and 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert {"flash", "RAM", "latency (estimated)", "energy per inference (estimated)"} <= {b["name"] for b in sec["budgets"]}
    assert sec["bit_exact"]["compared"] == LIMIT  # our kernels vs LiteRT's reference kernels
    assert len(ET.parse(d / "junit.xml").getroot().findall(".//testcase")) == len(sec["gates"])
    assert "<svg" in (d / "report.html").read_text()
    reference = sec

    # 2. kill -9 midway, run again: resumes and ends with the same eval section
    recs = d / "eval" / "records.jsonl"
    recs.unlink()
    killed = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.time() + 900
    while time.time() < deadline and killed.poll() is None:
        if recs.exists() and recs.read_bytes().count(b"\n") >= 16:
            break
        time.sleep(0.05)
    assert killed.poll() is None, "the run finished before it could be killed"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    _kill_orphaned_qemu(build)
    done = recs.read_bytes().count(b"\n")
    assert 16 <= done < LIMIT
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode in (0, 1), proc.stderr
    out = json.loads(proc.stdout)
    assert (out["resumed"], out["new"]) == (done, LIMIT - done)
    assert _section(build) == reference
    # the same inputs: the first run's build was reused (harness/build_cache.py), same figures
    assert json.loads((d / "report.json").read_text())["eval_run"]["build_reused"] is True

    # 3. the plugin's fixtures against the same build: a real device session, the evaluation
    pytester.makepyfile(test_dev="""
def test_info(edgekit_device, edgekit_model):
    info = edgekit_device.info()
    assert info.model == edgekit_model.name
    assert info.timer_unit == "instructions (emulated)"

def test_eval(edgekit_eval):
    assert edgekit_eval.section["samples"]["total"] == 64
""")
    monkeypatch.setenv("EDGEKIT_BUILD", str(build))
    res = pytester.runpytest_subprocess("--edgekit-target", "cortex-m4", "--edgekit-model", "kws",
                                        "--edgekit-report", str(d), timeout=900)
    res.assert_outcomes(passed=2)
