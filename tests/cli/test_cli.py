"""The CLI: exit codes, --json on every command, reserved commands with help."""

from __future__ import annotations

import json

import pytest

COMMANDS = [["targets", "list"], ["targets", "show"], ["models", "list"], ["models", "show"],
            ["data", "prepare"], ["train"], ["convert"], ["build"], ["eval"], ["skew"], ["report"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_has_help_and_json(run_cli, cmd):
    proc = run_cli(*cmd, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--json" in proc.stdout


def test_targets_list_json_has_budgets(cli_json):
    out = cli_json("targets", "list")
    by_name = {t["name"]: t for t in out}
    assert by_name["cortex-m4"]["budgets"]["ram_kb"] > 0
    assert by_name["snapdragon-htp"]["runtime"] == "onnxruntime-qnn"


def test_targets_list_table_shows_budgets(run_cli):
    proc = run_cli("targets", "list")
    assert proc.returncode == 0
    assert "cortex-m4" in proc.stdout and "p99" in proc.stdout


def test_targets_show_json_is_resolved(cli_json):
    out = cli_json("targets", "show", "cortex-m4-small")
    assert out["extends"] == "cortex-m4"
    assert out["core"]["cpu"] == "cortex-m4"  # inherited from the parent
    assert out["memory"]["ram_kb"] == 128


def test_models_show_prints_preprocessing(run_cli):
    proc = run_cli("models", "show", "kws")
    assert proc.returncode == 0, proc.stderr
    assert "mel_bins" in proc.stdout and "dct_coefficients" in proc.stdout


def test_unknown_target_is_exit_2_one_line(run_cli):
    proc = run_cli("targets", "show", "cortex-m99")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "cortex-m99" in proc.stderr and "edgekit targets list" in proc.stderr


def test_usage_error_is_exit_2(run_cli):
    assert run_cli("convert").returncode == 2  # missing --model
    assert run_cli("no-such-command").returncode == 2


def test_library_api_matches_cli(cli_json):
    from edgekit.targets import load_target

    assert cli_json("targets", "show", "cortex-m7") == json.loads(load_target("cortex-m7").model_dump_json())


def test_check_failed_is_exit_1():
    from edgekit.cli import main
    from edgekit.cli import targets as targets_cli
    from edgekit.errors import CheckFailed

    def failing(json_out: bool = False):
        raise CheckFailed("budget exceeded", [{"budget": "ram_kb", "value": 300, "limit": 128}])

    targets_cli.app.command("fail-for-test")(failing)
    try:
        assert main(["targets", "fail-for-test"]) == 1
    finally:
        targets_cli.app.registered_commands.pop()
