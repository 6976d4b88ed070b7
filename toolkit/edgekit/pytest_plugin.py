"""pytest plugin (entry point `edgekit`): hardware-in-the-loop CI in a user's repository.

    pytest --edgekit-target cortex-m4 --edgekit-model kws

The fixtures that give a device session and an evaluation result arrive with `edgekit eval`
(issue #6); the options are registered now so the plugin loads everywhere.
"""

from __future__ import annotations


def pytest_addoption(parser):
    group = parser.getgroup("edgekit", "edgekit hardware-in-the-loop evaluation")
    group.addoption("--edgekit-target", default=None, help="target profile to evaluate on")
    group.addoption("--edgekit-model", default=None, help="model to evaluate")
    group.addoption("--edgekit-device", default="qemu", help="qemu or serial:/dev/ttyACM0[@baud]")
