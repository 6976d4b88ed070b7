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


@pytest.fixture(scope="session")
def int8_model_for(tmp_path_factory):
    """int8_model_for(model, target) -> a model_int8.tflite converted once per test session
    and shared by the xdist workers (a file lock per model and target), so the slow tests
    that need only the int8 model do not each convert it again. It is the model `edgekit
    convert` makes (the committed calibration set); its accuracy report is cut short.
    seed_stage(build_dir, model, target) puts it where the stages look for it."""
    import fcntl
    import shutil

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "int8-models"
    root.mkdir(parents=True, exist_ok=True)

    def get(model: str, target: str) -> Path:
        from edgekit.convert import INT8_NAME, convert
        from edgekit.models import load_model
        from edgekit.targets import load_target

        done = root / f"{target}-{model}.tflite"
        with open(root / f"{target}-{model}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.is_file():
                work = root / f"{target}-{model}.work"
                shutil.rmtree(work, ignore_errors=True)
                convert(load_model(model), load_target(target), test_limit=40, verify_samples=4, layer_samples=4,
                        out_dir=work, enforce_gates=False)
                os.replace(work / INT8_NAME, done)
                shutil.rmtree(work, ignore_errors=True)
        return done

    return get


@pytest.fixture(scope="session")
def seed_stage(int8_model_for):
    """seed_stage(build_dir, model, target): build_dir/<target>/<model>/model_int8.tflite from
    the session's shared conversion (newer than the weights, so every stage reuses it)."""
    import shutil

    def seed(build_dir: Path, model: str, target: str) -> Path:
        stage = Path(build_dir) / target / model
        stage.mkdir(parents=True, exist_ok=True)
        dest = stage / "model_int8.tflite"
        shutil.copyfile(int8_model_for(model, target), dest)   # a fresh mtime: newer than the weights
        return dest

    return seed
