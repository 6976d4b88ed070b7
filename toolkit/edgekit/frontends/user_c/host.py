"""Running a user C frontend's host build, one sample at a time, in a worker subprocess.

The user's code may crash, loop or write past its tensor: none of that may take the run
down. The library runs in a child process (_worker.py, ctypes); the adapter checks the
guard bytes after each call; the parent gives each call a time limit. A crash (the worker
dies on a signal), an overrun, a timeout, a non-zero return or a NaN raises
FrontendSampleError for that sample with its reason; the next call starts a fresh worker
when the last one died (docs/ARCHITECTURE.md, frontends).
"""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit.frontends.raw import raw_bytes
from edgekit.frontends.user_c.compile import HostLibrary, compile_host

WORKER = Path(__file__).with_name("_worker.py")
STARTUP_TIMEOUT_S = 30.0
# The adapter's return codes (firmware/frontends/user/ek_user_adapter.c) -> reasons.
RC_REASONS = {-1: "size", -2: "args", -3: "overrun", -4: "returned", -5: "init", -6: "nan"}
FAILURE_REASONS = ("fault", "overrun", "timeout", "returned", "init", "nan", "size", "args")


class FrontendSampleError(Exception):
    """The user frontend failed on one sample; `reason` is one of FAILURE_REASONS."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class HostUserFrontend:
    """The host build of a user frontend, callable per sample like edgekit's HostFrontend."""

    def __init__(self, library: HostLibrary, pre_spec, time_limit_s: float):
        self.library = library
        self.pre_spec = pre_spec
        self.kind = library.kind
        self.output_shape = tuple(library.output_shape)
        self.spec_hash = library.content_hash[:16]
        self.time_limit_s = float(time_limit_s)
        self.failures: Counter = Counter()
        self.calls = 0
        self._n_out = int(np.prod(self.output_shape))
        self._proc: Optional[subprocess.Popen] = None
        self._stderr = None
        self._name: Optional[str] = None
        self._lock = threading.Lock()

    # -- worker lifecycle ---------------------------------------------------------------
    def _start(self) -> None:
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([sys.executable, "-I", str(WORKER), str(self.library.library), str(self._n_out)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                      start_new_session=True)
        (n,) = struct.unpack("<I", self._read(4, STARTUP_TIMEOUT_S, "start"))
        self._name = self._read(n, STARTUP_TIMEOUT_S, "start").decode("utf-8", "replace") if n else ""

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._proc.wait()
            for f in (self._proc.stdin, self._proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        if self._stderr is not None:
            self._stderr.close()
        self._proc, self._stderr = None, None

    def close(self) -> None:
        with self._lock:
            self._kill()

    def __enter__(self) -> "HostUserFrontend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self._kill()
        except Exception:
            pass

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 400))
        lines = [l for l in self._stderr.read().decode("utf-8", "replace").splitlines() if l.strip()]
        return lines[-1].strip() if lines else ""

    def _died(self, what: str) -> FrontendSampleError:
        rc = self._proc.wait(timeout=5) if self._proc is not None else None
        if rc is not None and rc < 0:
            try:
                sig = signal.Signals(-rc).name
            except ValueError:
                sig = f"signal {-rc}"
            how = f"killed by {sig}"
        else:
            how = f"exited with code {rc}"
        tail = self._stderr_tail()
        err = FrontendSampleError("fault", f"fault: the user frontend's host build crashed during {what} ({how})"
                                           + (f": {tail}" if tail else ""))
        self._kill()
        return err

    def _read(self, n: int, timeout: float, what: str) -> bytes:
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                raise FrontendSampleError("timeout", f"timeout: the user frontend ran past the host time limit "
                                                     f"of {timeout:g} s per call ({what})")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            b = os.read(fd, n - got)
            if not b:
                raise self._died(what)
            chunks.append(b)
            got += len(b)
        return b"".join(chunks)

    # -- calls --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The frontend's name/version string (ek_user_frontend_name), as the device reports it."""
        with self._lock:
            if self._name is None:
                try:
                    self._start()
                except FrontendSampleError as exc:
                    return f"user:? ({exc.reason})"
            return self._name or ""

    def run_bytes(self, data: bytes) -> np.ndarray:
        """Raw bytes (edgekit.frontends.raw_bytes) -> int8 model input, or FrontendSampleError."""
        with self._lock:
            self.calls += 1
            try:
                return self._call(data)
            except FrontendSampleError as exc:
                self.failures[exc.reason] += 1
                raise

    def _call(self, data: bytes) -> np.ndarray:
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            self._start()
        try:
            self._proc.stdin.write(struct.pack("<I", len(data)) + data)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died("the call") from None
        rc, m = struct.unpack("<iI", self._read(8, self.time_limit_s, "the call"))
        msg = self._read(m, self.time_limit_s, "the call").decode("utf-8", "replace") if m else ""
        if rc != 0:
            reason = RC_REASONS.get(rc, "returned")
            raise FrontendSampleError(reason, msg.removeprefix("frontend failed: ") or f"adapter returned {rc}")
        out = self._read(self._n_out, self.time_limit_s, "the call")
        return np.frombuffer(out, dtype=np.int8).reshape(self.output_shape).copy()

    def run(self, raw: np.ndarray) -> np.ndarray:
        """Raw sensor data (int16 PCM / uint8 HxWxC) -> int8 model input through the user's C."""
        return self.run_bytes(raw_bytes(self.pre_spec, raw))


def build_host_frontend(fe, model_spec, quant, cache: Optional[Path] = None) -> HostUserFrontend:
    """Compile (cached) and wrap: the worker starts on the first call."""
    lib = compile_host(fe, model_spec, quant, cache=cache)
    return HostUserFrontend(lib, getattr(model_spec, "preprocessing", model_spec), fe.host_time_limit_s)


def classify_device_failure(part: dict) -> Optional[str]:
    """A device path's error record -> the user frontend's failure reason, or None when
    the failure is not the frontend's (the firmware's time limit and a fault in the
    frontend end as a crash report; the adapter's own checks as a 'frontend failed' error)."""
    if part.get("status") != "error":
        return None
    detail = str(part.get("detail", ""))
    if "frontend time limit" in detail:
        return "timeout"
    if "frontend failed" in detail:
        for reason in ("overrun", "NaN", "init", "returned"):
            if reason in detail:
                return "nan" if reason == "NaN" else reason
        return "returned"
    if part.get("reason") == "crash":
        return "fault"
    return None
