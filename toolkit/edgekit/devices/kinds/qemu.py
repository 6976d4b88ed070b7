"""QEMU: the emulated boards of a target profile's `emulator:` block (kind "qemu").

Everything emulator-specific lives here: the command line (machine, cpu, -icount for exact
instruction counts, semihosting for the exit code), one-shot test programs (run_to_exit: a
semihosted C program built with app="semihost-test", killed and reported as
DeviceError("timeout") if it does not exit in time), and protocol sessions (a Device over
edgekit.devices.session.QemuTransport, the UART on a unix socket, inputs preloaded at the
board's preload address with `-device loader`). See docs/ARCHITECTURE.md, "Device kinds".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edgekit.devices.errors import DeviceError
from edgekit.devices.kinds import DeviceKind, DeviceSpec, register
from edgekit.errors import UserError

FAULT_MARKER = "EK-FAULT"
FAULT_EXIT_CODE = 99  # firmware/boards/common/startup.c


@register
class Qemu(DeviceKind):
    name = "qemu"
    usage = "qemu"
    parallel = True      # one emulator process per session
    needs_image = True

    def emulates(self, target) -> bool:
        emu = target.emulator
        return emu.kind == "qemu" and bool(emu.machine and emu.cpu)

    def open(self, spec: DeviceSpec, target, image, **timeouts):
        from edgekit.devices.device import Device
        from edgekit.devices.session import QemuTransport
        from edgekit.firmware.boards import board_for_target

        if image is None:
            raise UserError("--device qemu: needs a firmware image; run `edgekit build` first")
        board = board_for_target(target)
        elf = Path(getattr(image, "elf", image))
        return Device(QemuTransport(target, elf, preload_addr=board.preload.origin if board.preload else None),
                      **timeouts)


def qemu_binary() -> str:
    exe = shutil.which("qemu-system-arm")
    if exe is None:
        raise UserError("qemu-system-arm: not found on PATH; install Debian's qemu-system-arm (`make setup`)")
    return exe


def qemu_base_args(target, elf: Path, icount_shift: int = 0) -> list[str]:
    """Machine, CPU, exact instruction counting, semihosting for the exit code, no display."""
    emu = target.emulator
    if not Qemu().emulates(target):
        raise UserError(f"target {target.name}: emulator: not a QEMU target (kind {emu.kind!r}); "
                        f"use a board on a serial port (--device serial:/dev/ttyACM0)")
    return [
        qemu_binary(), "-machine", emu.machine, "-cpu", emu.cpu,
        "-icount", f"shift={icount_shift}",
        "-semihosting-config", "enable=on,target=native",
        "-display", "none", "-monitor", "none", "-nodefaults", "-net", "none",
        "-kernel", str(elf),
    ]


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: str             # what the program wrote on its UART
    emulator_log: str = ""  # QEMU's own messages (stderr)

    @property
    def faulted(self) -> bool:
        return FAULT_MARKER in self.output


def run_to_exit(elf: Path, target, timeout_s: float = 60, icount_shift: int | None = None) -> RunResult:
    from edgekit.firmware import ICOUNT_SHIFT

    shift = ICOUNT_SHIFT if icount_shift is None else icount_shift
    cmd = [*qemu_base_args(target, Path(elf), shift), "-serial", "stdio"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise DeviceError("timeout", f"{Path(elf).name} did not exit within {timeout_s:g} s; "
                                     f"output so far: {_tail(out)}") from None
    text = out.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return RunResult(exit_code=proc.returncode, output=text,
                     emulator_log=err.decode("utf-8", errors="replace"))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tail(out: bytes | None, n: int = 300) -> str:
    if not out:
        return "(none)"
    return out.decode("utf-8", errors="replace")[-n:].strip() or "(none)"
