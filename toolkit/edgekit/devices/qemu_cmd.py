"""The QEMU command line for a target's emulated board (shared by test runs and sessions)."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgekit.errors import UserError
from edgekit.targets.schema import TargetProfile


def qemu_binary() -> str:
    exe = shutil.which("qemu-system-arm")
    if exe is None:
        raise UserError("qemu-system-arm: not found on PATH; install Debian's qemu-system-arm (`make setup`)")
    return exe


def qemu_base_args(target: TargetProfile, elf: Path, icount_shift: int = 0) -> list[str]:
    """Machine, CPU, exact instruction counting, semihosting for the exit code, no display."""
    emu = target.emulator
    if emu.kind != "qemu" or not emu.machine or not emu.cpu:
        raise UserError(f"target {target.name}: emulator: not a QEMU target (kind {emu.kind!r}); "
                        f"use a board on a serial port (--device serial:/dev/ttyACM0)")
    return [
        qemu_binary(), "-machine", emu.machine, "-cpu", emu.cpu,
        "-icount", f"shift={icount_shift}",
        "-semihosting-config", "enable=on,target=native",
        "-display", "none", "-monitor", "none", "-nodefaults", "-net", "none",
        "-kernel", str(elf),
    ]
