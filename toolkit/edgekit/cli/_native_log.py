"""Keep the native libraries' start-up chatter out of a command's output.

TensorFlow's C++ side logs INFO lines through absl before absl is initialised (so
TF_CPP_MIN_LOG_LEVEL does not reach them: "oneDNN custom operations are on", CPU feature
notes), and the QNN backend prints a LIBNATIVE note. They are written to file descriptor 2
by native code, below Python. While a command runs, descriptor 2 is a pipe that a thread
reads line by line, dropping those lines and passing everything else on; Python's own
sys.stderr (edgekit's messages, progress bars, warnings, tracebacks) is pointed at the real
stream, so it is neither filtered nor delayed. `--debug` turns the filter off.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

# absl/glog INFO lines ("I0000 00:00:1795909082.451520    1286 port.cc:153] ..."), absl's
# note about them, cpu_feature_guard's continuation line, and QNN's LIBNATIVE note.
# Warnings (W...) and errors (E...) from native code still show.
NOISE = re.compile(
    rb"^(I\d{4} [\d:.]+ +\d+ [\w./+-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags"
    rb"| # LIBNATIVE: No alternate configuration present)")


def _pump(read_fd: int, write_fd: int) -> None:
    with os.fdopen(read_fd, "rb") as src, os.fdopen(write_fd, "wb", buffering=0) as dst:
        for line in src:
            if not NOISE.match(line):
                dst.write(line)


@contextmanager
def native_log_filter(enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    sys.stderr.flush()
    real = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding=python_stderr.encoding,
                           errors=python_stderr.errors)
    pump = threading.Thread(target=_pump, args=(read_fd, os.dup(real)), daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)  # the pipe's last writer in this process: the pump sees EOF
        pump.join(timeout=2.0)  # a child still holding the pipe must not hold up the exit
        sys.stderr.close()
        sys.stderr = python_stderr
        os.close(real)
