"""Shared fixtures. Tests mirror the stages: tests/<stage>/test_*.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_cli(tmp_path):
    """Run `edgekit ...` in a subprocess, in a scratch directory; returns CompletedProcess."""

    def run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
        full_env = {**os.environ, "EDGEKIT_BUILD": str(tmp_path / "build"), **(env or {})}
        return subprocess.run([sys.executable, "-m", "edgekit", *args], cwd=cwd or tmp_path,
                              capture_output=True, text=True, env=full_env, timeout=timeout)

    return run


@pytest.fixture
def cli_json(run_cli):
    def run(*args: str, **kw):
        proc = run_cli(*args, "--json", **kw)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return run


@pytest.fixture(scope="session", autouse=True)
def reference_datasets(request):
    """The slow tests run the reference models on their real data: make sure it is prepared
    (a cached dataset returns at once; on a fresh machine this synthesizes and renders it,
    once, under a lock shared by the xdist workers)."""
    if not any(item.get_closest_marker("slow") for item in request.session.items):
        return
    import fcntl

    from edgekit import data, resources
    from edgekit.models import load_model

    lock_path = resources.cache_dir() / "prepare.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in ("kws", "mobilenetv2"):
            data.prepare(load_model(name))
