"""The wheel carries targets/, models/, firmware/ and calibration_data/: the installed tool
works outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(dist.glob("edgekit-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDGEKIT_HOME", "VIRTUAL_ENV")}
    proc = subprocess.run([str(env_dir / "bin" / "edgekit"), "targets", "list", "--json"],
                          capture_output=True, text=True, cwd=elsewhere, env=env)
    assert proc.returncode == 0, proc.stderr
    names = {t["name"] for t in json.loads(proc.stdout)}
    assert {"cortex-m4", "cortex-m7", "snapdragon-htp"} <= names
    # The resources really come from the installed package, not the checkout.
    where = subprocess.run([str(py), "-c", "from edgekit import resources; print(resources.root())"],
                           capture_output=True, text=True, cwd=elsewhere, env=env, check=True).stdout.strip()
    assert "_resources" in where and str(REPO) not in where
    proc = subprocess.run([str(env_dir / "bin" / "edgekit"), "models", "show", "kws", "--json"],
                          capture_output=True, text=True, cwd=elsewhere, env=env)
    assert proc.returncode == 0, proc.stderr
