"""QEMU: one-shot test programs (run_to_exit) and protocol sessions (QemuDevice).

run_to_exit runs a semihosted C program (firmware built with app="semihost-test") and
returns its exit code and UART output; a program that does not exit in time is killed and
reported as DeviceError("timeout").
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edgekit.devices.errors import DeviceError
from edgekit.devices.qemu_cmd import qemu_base_args
from edgekit.targets.schema import TargetProfile

FAULT_MARKER = "EK-FAULT"
FAULT_EXIT_CODE = 99  # firmware/boards/common/startup.c


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: str             # what the program wrote on its UART
    emulator_log: str = ""  # QEMU's own messages (stderr)

    @property
    def faulted(self) -> bool:
        return FAULT_MARKER in self.output


def run_to_exit(elf: Path, target: TargetProfile, timeout_s: float = 60, icount_shift: int | None = None) -> RunResult:
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
