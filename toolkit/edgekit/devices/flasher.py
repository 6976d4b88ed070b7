"""Flashing a board with the profile's flasher: pyocd, PlatformIO upload, or a command given
as an argument list ({elf}, {hex}, {bin} replaced), never through a shell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edgekit.errors import UserError
from edgekit.targets.schema import TargetProfile


def _objcopy(elf: Path, fmt: str, suffix: str) -> Path:
    out = elf.with_suffix(suffix)
    tool = shutil.which("arm-none-eabi-objcopy")
    if tool is None:
        raise UserError("arm-none-eabi-objcopy: not found; install gcc-arm-none-eabi")
    subprocess.run([tool, "-O", fmt, str(elf), str(out)], check=True)
    return out


def flash_command(target: TargetProfile, elf: Path, project_dir: Path | None = None) -> list[str]:
    fl = target.flasher
    elf = Path(elf)
    if fl.kind == "pyocd":
        if not fl.target:
            raise UserError(f"target {target.name}: flasher.target: pyocd needs a target name, e.g. nrf52840")
        return ["pyocd", "flash", "--target", fl.target, str(elf)]
    if fl.kind == "platformio":
        return ["pio", "run", "-t", "upload", "-d", str(project_dir or elf.parent / "platformio")]
    if fl.kind == "command":
        if not fl.command:
            raise UserError(f"target {target.name}: flasher.command: empty; give an argument list like [tool, --flash, '{{hex}}']")
        subst = {"{elf}": str(elf), "{hex}": str(elf.with_suffix(".hex")), "{bin}": str(elf.with_suffix(".bin"))}
        args = [subst.get(a, a) for a in fl.command]
        if not any(a in subst.values() for a in args):
            args.append(str(elf))
        return args
    raise UserError(f"target {target.name}: flasher.kind is 'none'; flash the board yourself, or set a flasher")


def flash_image(target: TargetProfile, elf: Path, timeout_s: float = 300) -> None:
    cmd = flash_command(target, elf)
    if any("{hex}" in a for a in target.flasher.command) or any(a.endswith(".hex") for a in cmd):
        _objcopy(Path(elf), "ihex", ".hex")
    if any(a.endswith(".bin") for a in cmd):
        _objcopy(Path(elf), "binary", ".bin")
    if shutil.which(cmd[0]) is None:
        raise UserError(f"flasher: {cmd[0]!r} not found on PATH; install it (e.g. `pip install pyocd`) or change flasher in the target profile")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"flasher: `{' '.join(cmd)}` failed (exit {proc.returncode}): {last[0]}")


def reset_command(target: TargetProfile) -> list[str] | None:
    """How to reset a hung board between samples (pyocd only; others are reset by hand)."""
    if target.flasher.kind == "pyocd" and target.flasher.target and shutil.which("pyocd"):
        return ["pyocd", "reset", "--target", target.flasher.target]
    return None
