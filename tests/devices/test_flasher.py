"""Flasher commands from the profile: argument lists, never a shell string."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.devices.flasher import flash_command
from edgekit.errors import UserError
from edgekit.targets import load_target


def _with_flasher(tmp_path, flasher_yaml: str):
    (tmp_path / "cortex-m4.yaml").write_text((Path(__file__).resolve().parents[2] / "targets" / "cortex-m4.yaml").read_text())
    p = tmp_path / "board.yaml"
    p.write_text(f"extends: cortex-m4\ndescription: x\nflasher: {flasher_yaml}\n")
    return load_target(str(p))


def test_pyocd_command():
    assert flash_command(load_target("cortex-m4"), Path("/b/fw.elf")) == ["pyocd", "flash", "--target", "nrf52840", "/b/fw.elf"]


def test_command_placeholders_are_substituted_per_argument(tmp_path):
    t = _with_flasher(tmp_path, "{kind: command, command: [tool, --write, '{hex}', --name, 'a b; rm -rf /']}")
    assert flash_command(t, Path("/b/fw.elf")) == ["tool", "--write", "/b/fw.hex", "--name", "a b; rm -rf /"]


def test_command_without_placeholder_gets_the_elf(tmp_path):
    t = _with_flasher(tmp_path, "{kind: command, command: [flashit]}")
    assert flash_command(t, Path("/b/fw.elf")) == ["flashit", "/b/fw.elf"]


def test_no_flasher_is_a_user_error(tmp_path):
    t = _with_flasher(tmp_path, "{kind: none}")
    with pytest.raises(UserError, match="flash the board yourself"):
        flash_command(t, Path("/b/fw.elf"))
