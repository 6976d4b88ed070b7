"""`edgekit data prepare` and `edgekit train` through the CLI: exit codes, --json, messages."""

from __future__ import annotations

import json
import shutil

import pytest

from edgekit import resources
from tests.data.kws_small import LIMIT, kws_small_cache  # noqa: F401 (fixture)


def _one_line(stderr: str) -> bool:
    return len(stderr.strip().splitlines()) == 1


def test_prepare_unknown_model_is_exit_2(run_cli):
    proc = run_cli("data", "prepare", "--model", "no-such-model")
    assert proc.returncode == 2 and _one_line(proc.stderr) and "no-such-model" in proc.stderr


def test_prepare_bad_limit_is_exit_2(run_cli):
    proc = run_cli("data", "prepare", "--model", "kws", "--limit", "0")
    assert proc.returncode == 2 and _one_line(proc.stderr) and "--limit" in proc.stderr


def test_train_without_data_says_what_to_run(run_cli, tmp_path):
    proc = run_cli("train", "--model", "kws", env={"EDGEKIT_CACHE": str(tmp_path / "empty")})
    assert proc.returncode == 2 and _one_line(proc.stderr)
    assert "edgekit data prepare --model kws" in proc.stderr


def test_prepare_json_from_cache(run_cli, kws_small_cache):
    proc = run_cli("data", "prepare", "--model", "kws", "--limit", str(LIMIT), "--json",
                   env={"EDGEKIT_CACHE": str(kws_small_cache)})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["counts"] == {"train": LIMIT, "val": LIMIT, "test": LIMIT}
    assert set(out["per_cohort"]) >= {"mic", "noise", "snr_db", "accent", "voice"}
    assert len(out["per_cohort"]["mic"]) >= 3


@pytest.mark.slow  # three CLI processes that each import TensorFlow
def test_train_cli_writes_weights_metrics_and_models_show_prints_them(run_cli, kws_small_cache, tmp_path):
    # A scratch EDGEKIT_HOME, so the committed models/kws weights are never touched.
    home = tmp_path / "home"
    (home / "models" / "kws").mkdir(parents=True)
    shutil.copy(resources.models_dir() / "kws" / "model.yaml", home / "models" / "kws" / "model.yaml")
    env = {"EDGEKIT_CACHE": str(kws_small_cache), "EDGEKIT_HOME": str(home)}
    proc = run_cli("train", "--model", "kws", "--epochs", "1", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (home / "models" / "kws" / "model.keras").is_file()
    metrics = json.loads((home / "models" / "kws" / "metrics.json").read_text())
    assert metrics["accuracy"] == out["accuracy"] and metrics["n"] == LIMIT
    show = run_cli("models", "show", "kws", env=env)
    assert show.returncode == 0, show.stderr
    assert "per mic" in show.stdout and "per accent" in show.stdout and "mel_bins" in show.stdout
    bad = run_cli("train", "--model", "kws", "--epochs", "0", env=env)
    assert bad.returncode == 2 and _one_line(bad.stderr)
