"""Transports: a QEMU session (UART on a unix socket) and a board on a serial port."""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from edgekit.devices.device import LinkClosed
from edgekit.devices.errors import DeviceError
from edgekit.devices.kinds.qemu import qemu_base_args
from edgekit.errors import UserError
from edgekit.targets.schema import TargetProfile


def _die_with_parent():
    """An emulator must not outlive its host process (kill -9 of an evaluation would leave
    QEMU running): Linux's PR_SET_PDEATHSIG kills it with the parent. The signal follows the
    *thread* that started it, so only sessions opened from the main thread get it."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None

    def setup() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    return setup


class QemuTransport:
    """QEMU with the board's UART on a unix socket (server=on,wait=on: the guest does not
    start before we are connected, so nothing it says is lost), -icount for exact
    instruction counts, semihosting for the exit code. A preload blob is attached with
    `-device loader` at the board's preload address."""

    expects_hello = True
    supports_preload = True

    def __init__(self, target: TargetProfile, elf: Path, preload_addr: int | None = None,
                 connect_timeout_s: float = 10.0, icount_shift: int | None = None):
        from edgekit.firmware import ICOUNT_SHIFT

        self.target = target
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise UserError(f"{self.elf}: firmware ELF not found; run `edgekit build` first")
        self.preload_addr = preload_addr
        self.connect_timeout_s = connect_timeout_s
        self.icount_shift = ICOUNT_SHIFT if icount_shift is None else icount_shift
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.tmp: str | None = None
        self.log_path: Path | None = None

    def start(self, preload: bytes | None = None) -> None:
        self.close()
        # Short path: unix socket names are limited to ~100 bytes.
        self.tmp = tempfile.mkdtemp(prefix="ekq-")
        sock_path = os.path.join(self.tmp, "uart")
        cmd = [*qemu_base_args(self.target, self.elf, self.icount_shift),
               "-chardev", f"socket,id=ser0,path={sock_path},server=on,wait=on",
               "-serial", "chardev:ser0"]
        if preload is not None:
            if self.preload_addr is None:
                raise DeviceError("protocol", "this board has no preload region")
            blob = os.path.join(self.tmp, "batch.bin")
            Path(blob).write_bytes(preload)
            cmd += ["-device", f"loader,file={blob},addr=0x{self.preload_addr:x},force-raw=on"]
        self.log_path = Path(self.tmp) / "qemu.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True, preexec_fn=_die_with_parent())
        log.close()
        deadline = time.monotonic() + self.connect_timeout_s
        while True:
            if self.proc.poll() is not None:
                raise DeviceError("crash", f"emulator exited before the UART connected: {self.describe_exit()}")
            if os.path.exists(sock_path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(sock_path)
                    self.sock = s
                    return
                except OSError:
                    s.close()
            if time.monotonic() > deadline:
                self.close()
                raise DeviceError("timeout", f"emulator UART socket not ready in {self.connect_timeout_s:g} s")
            time.sleep(0.01)

    def write(self, data: bytes) -> None:
        if self.sock is None:
            raise LinkClosed()
        try:
            self.sock.sendall(data)
        except OSError:
            raise LinkClosed() from None

    def read(self, timeout: float) -> bytes:
        if self.sock is None:
            raise LinkClosed()
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            if self.proc is not None and self.proc.poll() is not None:
                raise LinkClosed()
            return b""
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            raise LinkClosed()
        return data

    def describe_exit(self) -> str:
        if self.proc is None:
            return "emulator not running"
        try:
            rc = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return "emulator still running"
        log = ""
        if self.log_path and self.log_path.is_file():
            lines = [l for l in self.log_path.read_text(errors="replace").splitlines()
                     if l.strip() and "has no peer" not in l]
            log = (": " + lines[-1].strip()) if lines else ""
        how = f"killed by signal {-rc}" if rc < 0 else f"exit code {rc}"
        return f"emulator {how}{log}"

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(timeout=3)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.proc.wait()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


class SerialTransport:
    """A board on a serial port (pyserial). Flashing happens once, before the first open."""

    expects_hello = False
    supports_preload = False

    def __init__(self, port: str, baud: int = 115200, flash=None, reset=None):
        self.port, self.baud, self._flash, self._reset = port, baud, flash, reset
        self.ser = None
        self.flashed = False
        self.starts = 0

    def start(self, preload: bytes | None = None) -> None:
        import serial  # pyserial

        if self._flash is not None and not self.flashed:
            self._flash()
            self.flashed = True
        elif self.starts and self._reset is not None:
            self._reset()  # a restart after a failure: reset the board (it may be hung)
        self.starts += 1
        self.close()
        try:
            self.ser = serial.Serial(self.port, self.baud, timeout=0)
        except (serial.SerialException, OSError) as exc:
            raise UserError(f"--device serial:{self.port}: cannot open: {exc}; check the cable and permissions") from None

    def write(self, data: bytes) -> None:
        if self.ser is None:
            raise LinkClosed()
        try:
            self.ser.write(data)
            self.ser.flush()
        except OSError:
            raise LinkClosed() from None

    def read(self, timeout: float) -> bytes:
        if self.ser is None:
            raise LinkClosed()
        self.ser.timeout = max(timeout, 0)
        try:
            first = self.ser.read(1)
            rest = self.ser.read(self.ser.in_waiting) if first else b""
        except OSError:
            raise LinkClosed() from None
        return first + rest

    def describe_exit(self) -> str:
        return f"board on {self.port} stopped answering"

    def close(self) -> None:
        if self.ser is not None:
            try:
                self.ser.close()
            finally:
                self.ser = None
