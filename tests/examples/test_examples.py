"""The examples run: examples/hil-tests holds the shipped model to its own committed metrics
(minus a margin) and fails a worse one; the GitHub Actions workflow's edgekit and pytest
commands run as written (with a sample limit, the matrix target cortex-m4, and the HIL tests
where this repository keeps them). Its apt-get and pip lines are what `make setup` does."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HIL = ROOT / "examples" / "hil-tests"
WORKFLOW = ROOT / "examples" / "github-actions" / "edgekit-hil.yml"
LIMIT = 32

pytest_plugins = ["pytester"]


def _report(directory: Path, device_error_rate: float) -> dict:
    """A KWS report whose device path gets `device_error_rate` of the samples wrong on top of
    the synthetic int8 errors (tests/report/synthetic.py), spread over every cohort."""
    from edgekit import reportstore
    from edgekit.harness.summary import MemoryFigures, summarize
    from edgekit.report.gates import gate_rows
    from edgekit.targets import load_target
    from tests.report import synthetic

    recs = synthetic.records(600, bad_mic="none")
    rng = np.random.default_rng(1)
    for r in recs:
        dev = r["paths"]["device_features"]
        if rng.random() < device_error_rate:
            dev["pred"] = (r["label"] + 5) % len(synthetic.LABELS)
            dev["q"] = [-100] * len(synthetic.LABELS)
            dev["q"][dev["pred"]] = 90
            r["paths"]["int8_host"] = dict(dev, model_count=None)  # the model itself is worse
            r["paths"]["float"]["pred"] = dev["pred"]
    section = summarize(recs, target=load_target("cortex-m4"), model_name="kws", labels=synthetic.LABELS,
                        cohort_fields=synthetic.FIELDS, memory=MemoryFigures(120_000, 60_000),
                        device_info={"spec": "qemu", "firmware": "synthetic"})
    section["gates"] = gate_rows(section, None)
    reportstore.write_section(directory, "eval", section)
    return section


def _run_hil(pytester, report: Path):
    pytester.makepyfile(test_hil=(HIL / "test_hil.py").read_text())
    return pytester.runpytest("--edgekit-report", str(report), "--edgekit-model", "kws",
                              "-k", "not device_answers")


def test_hil_accuracy_threshold_is_the_committed_metrics_minus_a_margin(pytester, tmp_path):
    from edgekit.models import load_model

    committed = load_model("kws").load_metrics()["accuracy"]
    good = _report(tmp_path / "good", 0.0)
    dev = next(r for r in good["accuracy"] if r["path"] == good["device_path"] and r["field"] == "all")
    assert dev["ci_high"] >= committed - 0.03
    _run_hil(pytester, tmp_path / "good").assert_outcomes(passed=4, deselected=1)
    # A worse model: every path loses a third of its accuracy, in every cohort alike (nothing
    # is flagged, the gates pass): only the committed-metrics threshold catches it.
    bad = _report(tmp_path / "bad", 0.35)
    dev = next(r for r in bad["accuracy"] if r["path"] == bad["device_path"] and r["field"] == "all")
    assert dev["ci_high"] < committed - 0.03
    res = _run_hil(pytester, tmp_path / "bad")
    res.assert_outcomes(passed=3, failed=1, deselected=1)
    res.stdout.fnmatch_lines(["*test_device_accuracy*", "*below the committed*"])


def _workflow_commands() -> list[list[str]]:
    """The workflow's edgekit/pytest command lines, as a CI job on this repository runs them."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["hil"]["steps"]
    cmds = []
    for step in steps:
        script = step.get("run", "")
        script = script.replace("${{ matrix.target }}", "cortex-m4").replace("\\\n", " ")
        for line in script.splitlines():
            line = line.strip()
            if not line or line.startswith(("sudo ", "pip ")):
                continue  # set-up: what `make setup` installs here
            if line.startswith("min_acc=$("):
                cmds.append(["min_acc", line[len("min_acc=$("):-1]])
                continue
            args = shlex.split(line)
            if args[0] == "pytest":
                args = [sys.executable, "-m", "pytest", str(HIL) if args[1] == "tests/hil" else args[1],
                        *args[2:], f"--edgekit-limit={LIMIT}", "-p", "no:cacheprovider"]
            elif args[0] == "edgekit":
                args = [sys.executable, "-m", "edgekit", *args[1:]]
                if args[3] == "eval":
                    args.append(f"--limit={LIMIT}")
            else:
                raise AssertionError(f"{WORKFLOW}: a command this test does not know how to run: {line}")
            cmds.append(args)
    return cmds


def test_workflow_commands_are_known():
    cmds = _workflow_commands()
    kinds = [c[3] if c[0] == sys.executable and c[2] == "edgekit" else c[0] if c[0] == "min_acc" else "pytest"
             for c in cmds]
    assert kinds == ["data", "pytest", "min_acc", "eval"], kinds


@pytest.mark.slow
def test_workflow_and_hil_tests_pass_on_the_shipped_model(tmp_path, seed_stage):
    env = {**os.environ, "EDGEKIT_BUILD": str(tmp_path / "build")}
    # the int8 model `edgekit convert` makes, converted once for the session (tests/conftest.py);
    # the workflow's commands then build, evaluate and test as written
    seed_stage(tmp_path / "build", "kws", "cortex-m4")
    min_acc = None
    for args in _workflow_commands():
        if args[0] == "min_acc":
            code = shlex.split(args[1])[2]
            min_acc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout.strip()
            continue
        args = [min_acc if a == "$min_acc" else a for a in args]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1500)
        assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        if "pytest" in args:
            assert re.search(r"\b5 passed\b", proc.stdout), proc.stdout[-2000:]
    assert min_acc is not None and 0.7 < float(min_acc) < 0.85
