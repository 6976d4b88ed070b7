"""The serial-port path (pyserial) against real firmware: QEMU's UART on a pseudo-terminal
stands in for a board on /dev/ttyACM0 (already flashed: image=None)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from edgekit.devices import open_device
from edgekit.devices.kinds.qemu import qemu_base_args
from edgekit.firmware import ICOUNT_SHIFT, build_elf
from edgekit.targets import load_target
from tests.firmware import testmodel as tm


@pytest.fixture
def board_on_pty(tmp_path):
    target = load_target("cortex-m4")
    img = build_elf(target, [tm.SOURCE], [], None, tmp_path, app="protocol")
    proc = subprocess.Popen([*qemu_base_args(target, img.elf, ICOUNT_SHIFT), "-serial", "pty"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
    pts = None
    deadline = time.monotonic() + 10
    while pts is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"(/dev/pts/\d+)", line)
        pts = m.group(1) if m else None
    assert pts, "QEMU did not report its pty"
    yield target, pts
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_serial_board_speaks_the_protocol(board_on_pty):
    target, pts = board_on_pty
    with open_device(f"serial:{pts}@115200", target, None) as dev:
        assert dev.stats["resyncs"] == 1          # no HELLO expected from a running board
        info = dev.info()
        assert info.model == "testmodel"
        assert not dev.supports_preload
        xs = [bytes((i * 7 + j) % 256 for j in range(16)) for i in range(5)]
        results = dev.infer_batch(xs)             # falls back to load + invoke per input
        assert [r.output for r in results] == [tm.reference(x) for x in xs]
