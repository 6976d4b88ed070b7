"""The pytest plugin, run by pytest's own pytester (in-process, entry point loaded)."""

from __future__ import annotations


from tests.report.synthetic import write_report_dir

pytest_plugins = ["pytester"]

USER_TESTS = """
def test_accuracy(edgekit_eval):
    assert edgekit_eval.accuracy("float") > 0.85
    assert edgekit_eval.accuracy("device", "mic", "studio") > 0.85
    assert edgekit_eval.device_path == "device_features"
    assert edgekit_eval.latency["model"]["p99_ms"] < 400

def test_flagged(edgekit_eval):
    assert [(f["field"], f["value"]) for f in edgekit_eval.flagged if f["field"] == "mic"] == [("mic", "cheap")]

def test_gates(edgekit_eval):
    edgekit_eval.assert_gates()
"""


def test_plugin_registers_its_options(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--edgekit-target*", "*--edgekit-model*", "*--edgekit-device*"])


def test_eval_fixture_reads_a_report_and_gates_fail_as_tests(pytester, tmp_path):
    write_report_dir(tmp_path / "r")
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("--edgekit-report", str(tmp_path / "r"))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*edgekit gate(s) failed*", "*max_cohort_drop*mic=cheap*", "*report: *report.html*"])


def test_clean_report_passes_all_gates(pytester, tmp_path):
    write_report_dir(tmp_path / "r", bad_mic="none")
    pytester.makepyfile(test_user="def test_gates(edgekit_eval):\n    edgekit_eval.assert_gates()\n")
    pytester.runpytest("--edgekit-report", str(tmp_path / "r")).assert_outcomes(passed=1)


def test_missing_options_fail_clearly(pytester):
    pytester.makepyfile(test_user="def test_t(edgekit_target):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--edgekit-target is required*"])


def test_example_workflow_uses_real_options_and_commands():
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    wf = yaml.safe_load((root / "examples/github-actions/edgekit-hil.yml").read_text())
    steps = wf["jobs"]["hil"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    from edgekit import pytest_plugin

    class P:
        def __init__(self):
            self.opts = []

        def getgroup(self, *a):
            return self

        def addoption(self, name, **kw):
            self.opts.append(name)

    p = P()
    pytest_plugin.pytest_addoption(p)
    used = set(re.findall(r"--edgekit-[a-z-]+", script))
    assert used and used <= set(p.opts)
    assert "edgekit eval --target" in script


def test_example_hil_tests_run_against_a_report(pytester, tmp_path):
    from pathlib import Path

    write_report_dir(tmp_path / "r", bad_mic="none")
    src = (Path(__file__).resolve().parents[2] / "examples/hil-tests/test_hil.py").read_text()
    pytester.makepyfile(test_hil=src)
    res = pytester.runpytest("--edgekit-report", str(tmp_path / "r"), "--edgekit-model", "kws", "-k", "not device_answers")
    res.assert_outcomes(passed=4, deselected=1)
    # with a degraded cohort, the example's cohort and gate tests fail
    write_report_dir(tmp_path / "bad")
    res = pytester.runpytest("--edgekit-report", str(tmp_path / "bad"), "--edgekit-model", "kws", "-k", "not device_answers")
    res.assert_outcomes(passed=1, failed=3, deselected=1)
