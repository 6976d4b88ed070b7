"""End to end on real QEMU: `edgekit eval` writes the three reports; kill -9 midway and a
rerun resume and end with the same eval section; the plugin's device fixture is a real
session. Slow: needs the trained KWS model, its data and the firmware build."""

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

LIMIT = "64"


def _eval(build: Path, *extra: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDGEKIT_BUILD": str(build)}
    return subprocess.run([sys.executable, "-m", "edgekit", "eval", "--target", "cortex-m4", "--model", "kws",
                           "--limit", LIMIT, "--jobs", "2", "--cohorts", "mic+snr_db", "--json", *extra],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _section(build: Path) -> dict:
    return json.loads((build / "cortex-m4" / "kws" / "report.json").read_text())["eval"]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    from edgekit import data
    from edgekit.models import load_model

    data.prepare(load_model("kws"))  # idempotent: the cached dataset when it is there
    build = tmp_path_factory.mktemp("build")
    proc = _eval(build)
    assert proc.returncode in (0, 1), proc.stderr  # 1 = a gate failed, the reports are still written
    return build, json.loads(proc.stdout)


def test_eval_writes_reports_with_cohorts_latency_budgets(first_run):
    build, out = first_run
    d = build / "cortex-m4" / "kws"
    sec = _section(build)
    from edgekit.report.schema import validate_eval

    validate_eval(sec)
    assert sec["samples"]["total"] == int(LIMIT)
    assert sec["device_path"] == "device_features"
    assert sec["paths"]["device_e2e"]["status"] in ("unavailable", "ok", "partial")
    fields = {r["field"] for r in sec["accuracy"]}
    assert {"mic", "snr_db", "accent", "mic+snr_db"} <= fields
    lat = sec["latency"]["model"]
    assert lat["unit"] == "instructions (emulated)" and 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    names = {b["name"] for b in sec["budgets"]}
    assert {"flash", "RAM", "latency (estimated)", "energy per inference (estimated)"} <= names
    # the device runs our kernels, held bit-exact to the reference kernels
    assert sec["bit_exact"]["compared"] == int(LIMIT)
    cases = ET.parse(d / "junit.xml").getroot().findall(".//testcase")
    assert len(cases) == len(sec["gates"])
    assert "<svg" in (d / "report.html").read_text()


def test_kill_9_midway_and_rerun_ends_with_the_same_report(first_run):
    build, _ = first_run
    reference = _section(build)
    eval_dir = build / "cortex-m4" / "kws" / "eval"
    (eval_dir / "records.jsonl").unlink()
    env = {**os.environ, "EDGEKIT_BUILD": str(build)}
    proc = subprocess.Popen([sys.executable, "-m", "edgekit", "eval", "--target", "cortex-m4", "--model", "kws",
                             "--limit", LIMIT, "--jobs", "2", "--cohorts", "mic+snr_db", "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    recs = eval_dir / "records.jsonl"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if recs.exists() and recs.read_bytes().count(b"\n") >= 16:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI, as a crash would
    proc.wait()
    _kill_orphaned_qemu(build)
    done = recs.read_bytes().count(b"\n")
    assert 16 <= done < int(LIMIT)
    rerun = _eval(build)
    assert rerun.returncode in (0, 1), rerun.stderr
    out = json.loads(rerun.stdout)
    assert out["resumed"] == done and out["new"] == int(LIMIT) - done
    assert _section(build) == reference


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


def test_plugin_device_fixture_is_a_real_session(first_run, pytester, monkeypatch):
    build, _ = first_run
    pytester.makepyfile(test_dev="""
def test_info(edgekit_device, edgekit_model):
    info = edgekit_device.info()
    assert info.model == edgekit_model.name
    assert info.timer_unit == "instructions (emulated)"
""")
    monkeypatch.setenv("EDGEKIT_BUILD", str(build))
    res = pytester.runpytest_subprocess("--edgekit-target", "cortex-m4", "--edgekit-model", "kws", timeout=600)
    res.assert_outcomes(passed=1)


pytest_plugins = ["pytester"]
