"""pytest plugin (entry point `edgekit`): hardware-in-the-loop CI in a user's repository.

    pytest --edgekit-target cortex-m4 --edgekit-model kws [--edgekit-device qemu]

Fixtures (session-scoped, so the firmware is built and the test split run once):

    edgekit_target   the TargetProfile
    edgekit_model    the ModelSpec
    edgekit_device   a running device session (QEMU or a board), firmware built if needed
    edgekit_eval     the evaluation result (runs `edgekit eval` once, or reads an existing
                     report with --edgekit-report DIR): accuracy per path and cohort, latency,
                     budgets, gates; `edgekit_eval.assert_gates()` fails with the failed gates

    def test_device_accuracy(edgekit_eval):
        assert edgekit_eval.accuracy() >= 0.85
        edgekit_eval.assert_gates()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("edgekit", "edgekit hardware-in-the-loop evaluation")
    group.addoption("--edgekit-target", default=None, help="target profile to evaluate on")
    group.addoption("--edgekit-model", default=None, help="model to evaluate")
    group.addoption("--edgekit-device", default=None,
                    help="qemu (the default for firmware) or serial:/dev/ttyACM0[@baud]")
    group.addoption("--edgekit-limit", type=int, default=None, help="evaluate at most this many test samples")
    group.addoption("--edgekit-jobs", type=int, default=None, help="emulator instances in parallel")
    group.addoption("--edgekit-cohorts", default=None, help="extra cohort combinations, e.g. mic+snr_db")
    group.addoption("--edgekit-max-cohort-drop", type=float, default=0.02, help="cohort flag threshold (fraction)")
    group.addoption("--edgekit-report", default=None,
                    help="read the evaluation from this build/<target>/<model> folder instead of running it")


def _opt(config, name: str):
    value = config.getoption(name)
    if value is None:
        pytest.fail(f"{name} is required by this test (e.g. `pytest {name} ...`)", pytrace=False)
    return value


@dataclass
class EdgekitEvaluation:
    """The eval section of report.json with helpers for assertions."""

    directory: Path
    section: dict = field(repr=False)

    @property
    def device_path(self) -> Optional[str]:
        return self.section.get("device_path")

    def accuracy(self, path: str = "device", field: str = "all", value: str = "all") -> float:
        """Accuracy of a path ("device" = the device path that ran) overall or for one cohort."""
        path = self.device_path if path == "device" else path
        for r in self.section["accuracy"]:
            if r["path"] == path and r["field"] == field and r["value"] == str(value):
                return r["accuracy"]
        raise KeyError(f"no accuracy for path {path!r}, cohort {field}={value}")

    @property
    def flagged(self) -> list[dict]:
        return self.section["flagged"]

    @property
    def gates(self) -> list[dict]:
        return self.section["gates"]

    @property
    def failed_gates(self) -> list[dict]:
        return [g for g in self.gates if not g["passed"]]

    @property
    def latency(self) -> dict:
        return self.section["latency"]

    @property
    def budgets(self) -> list[dict]:
        return self.section["budgets"]

    def assert_gates(self) -> None:
        failed = self.failed_gates
        if failed:
            lines = "\n".join(f"  {g['gate']:<16} {g['subject']:<28} value {g.get('value')} limit {g.get('limit')}: "
                              f"{g['detail']}" for g in failed)
            pytest.fail(f"{len(failed)} edgekit gate(s) failed:\n{lines}", pytrace=False)


@pytest.fixture(scope="session")
def edgekit_target(pytestconfig):
    from edgekit.targets import load_target

    return load_target(_opt(pytestconfig, "--edgekit-target"))


@pytest.fixture(scope="session")
def edgekit_model(pytestconfig):
    from edgekit.models import load_model

    return load_model(_opt(pytestconfig, "--edgekit-model"))


@pytest.fixture(scope="session")
def edgekit_device(pytestconfig, edgekit_target, edgekit_model):
    """A running device session with the model's firmware (built if needed)."""
    from edgekit.build import build
    from edgekit.devices import open_device
    from edgekit.harness.evaluate import _firmware_image

    image = _firmware_image(build(edgekit_model, edgekit_target))
    with open_device(pytestconfig.getoption("--edgekit-device") or "qemu", edgekit_target, image) as dev:
        yield dev


@pytest.fixture(scope="session")
def edgekit_eval(pytestconfig) -> EdgekitEvaluation:
    from edgekit.reportstore import read_report
    from edgekit.report.schema import validate_eval

    report_dir = pytestconfig.getoption("--edgekit-report")
    if report_dir is None:
        from edgekit.harness.evaluate import evaluate
        from edgekit.models import load_model
        from edgekit.stats import parse_combos
        from edgekit.targets import load_target

        res = evaluate(load_model(_opt(pytestconfig, "--edgekit-model")),
                       load_target(_opt(pytestconfig, "--edgekit-target")),
                       device=pytestconfig.getoption("--edgekit-device"),
                       jobs=pytestconfig.getoption("--edgekit-jobs"),
                       limit=pytestconfig.getoption("--edgekit-limit"),
                       combos=parse_combos(pytestconfig.getoption("--edgekit-cohorts")),
                       max_cohort_drop=pytestconfig.getoption("--edgekit-max-cohort-drop"),
                       enforce_gates=False)
        report_dir = res.directory
    report_dir = Path(report_dir)
    report = read_report(report_dir)
    if "eval" not in report:
        pytest.fail(f"{report_dir}/report.json has no eval section; run `edgekit eval` first", pytrace=False)
    validate_eval(report["eval"], str(report_dir / "report.json"))
    pytestconfig._edgekit_report_dir = report_dir
    return EdgekitEvaluation(report_dir, report["eval"])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    d = getattr(config, "_edgekit_report_dir", None)
    if d is not None:
        terminalreporter.write_sep("-", "edgekit")
        terminalreporter.write_line(f"report: {d / 'report.html'}  junit: {d / 'junit.xml'}")
