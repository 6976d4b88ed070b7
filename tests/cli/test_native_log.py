"""The CLI's filter for native libraries' start-up chatter on file descriptor 2."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = r"""
import os, sys
from edgekit.cli._native_log import native_log_filter
with native_log_filter(enabled=sys.argv[1] == "on"):
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    os.write(2, b"I0000 00:00:1795909082.451520    1286 port.cc:153] oneDNN custom operations are on.\n")
    os.write(2, b" # LIBNATIVE: No alternate configuration present in libnative_tls.conf\n")
    os.write(2, b"E0000 00:00:1795909082.5 1286 session.cc:10] a native error stays\n")
    sys.stderr.write("edgekit: error: a message of ours stays\n")
    subprocess_line = b"qemu: fatal: a child's message stays\n"
    os.write(2, subprocess_line)
os.write(2, b"after the filter\n")
"""


def _run(mode: str) -> str:
    return subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True,
                          timeout=60).stderr


def test_native_info_lines_are_dropped_and_everything_else_passes():
    err = _run("on")
    assert "oneDNN" not in err and "absl::InitializeLog" not in err and "LIBNATIVE" not in err
    for kept in ("a native error stays", "a message of ours stays", "a child's message stays", "after the filter"):
        assert kept in err


def test_debug_turns_the_filter_off():
    err = _run("off")
    assert "oneDNN" in err and "LIBNATIVE" in err and "a message of ours stays" in err
