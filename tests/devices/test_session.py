"""Device sessions on real QEMU with the hand-written test model (tests/firmware/testmodel),
including failure paths: crash, emulator killed, silence, garbage and CRC errors."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from edgekit.devices import DeviceError, open_device, parse_device_spec
from edgekit.devices import protocol as P
from edgekit.devices.session import QemuTransport
from edgekit.errors import UserError
from edgekit.firmware import build_elf
from edgekit.targets import load_target
from tests.firmware import testmodel as tm


@pytest.fixture(scope="module")
def target():
    return load_target("cortex-m4")


@pytest.fixture(scope="module")
def image(target, tmp_path_factory):
    return build_elf(target, [tm.SOURCE], [], None, tmp_path_factory.mktemp("fw"), app="protocol")


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, 16, dtype=np.int8).tobytes() for _ in range(n)]


def test_info_infer_and_counters(target, image):
    with open_device("qemu", target, image) as dev:
        info = dev.info()
        assert info.model == "testmodel" and info.model_hash == "0123456789abcdef"
        assert info.timer_unit == "instructions (emulated)" and info.preprocessing == "none"
        assert (info.input_bytes, info.output_bytes, info.arena_bytes) == (16, 4, 20)
        assert dev.op_counts() == []  # nothing has run yet
        for x in _inputs(5):
            r = dev.infer(x, "features")
            assert r.output == tm.reference(x)
            assert r.unit == "instructions (emulated)"
            assert 100 < r.model_count < 5000 and r.frontend_count == 0
            assert 0 < r.stack_high_water < 4096
            # the one op's count is inside the model's: the sentinel checks before the op and
            # the two hook calls (a timer read each) lie outside it
            (op,) = dev.op_counts()
            assert r.model_count - 300 < op < r.model_count
        c = dev.counters()  # the last inference's counts, and all five of them
        assert (c.model_count, c.stack_high_water, c.invocations) == (r.model_count, r.stack_high_water, 5)


def test_reset_reboots_the_core(target, image):
    with open_device("qemu", target, image) as dev:
        x = _inputs(2)
        for v in x:
            dev.infer(v, "features")
        assert dev.counters().invocations == 2
        dev.reset()  # SYSRESETREQ: the firmware boots again, its counters start from zero
        assert dev.counters().invocations == 0
        assert dev.infer(x[0], "features").output == tm.reference(x[0])


def test_batch_preloaded_matches_single_inferences(target, image):
    xs = _inputs(300, seed=1)
    with open_device("qemu", target, image) as dev:
        batch = dev.infer_batch(xs)
        single = [dev.infer(x) for x in xs[:10]]
    assert [r.output for r in batch] == [tm.reference(x) for x in xs]
    assert [r.output for r in single] == [r.output for r in batch[:10]]
    # Same program, same input: the emulated instruction count repeats exactly.
    assert [r.model_count for r in single] == [r.model_count for r in batch[:10]]


def test_raw_input_without_frontend_is_refused(target, image):
    with open_device("qemu", target, image) as dev:
        with pytest.raises(DeviceError, match="no on-device frontend") as e:
            dev.infer(bytes(100), "raw")
        assert e.value.reason == "protocol"
        assert dev.infer(bytes(16)).output == tm.reference(bytes(16))  # still serving


def test_crash_is_reported_with_the_fault_and_restart_recovers(target, image):
    with open_device("qemu", target, image) as dev:
        with pytest.raises(DeviceError) as e:
            dev.infer(tm.CRASH_INPUT)
        assert e.value.reason == "crash"
        assert "EK-FAULT" in str(e.value) and "exit code 99" in str(e.value)
        dev.restart()
        assert dev.infer(bytes(16)).output == tm.reference(bytes(16))


def test_silent_device_times_out_and_restart_recovers(target, image):
    with open_device("qemu", target, image, inference_timeout_s=1.0) as dev:
        t0 = time.monotonic()
        with pytest.raises(DeviceError) as e:
            dev.infer(tm.HANG_INPUT)
        assert e.value.reason == "timeout" and time.monotonic() - t0 < 5
        dev.restart()
        assert dev.infer(bytes(16)).output == tm.reference(bytes(16))


def test_emulator_killed_mid_run_is_a_crash(target, image):
    with open_device("qemu", target, image, inference_timeout_s=30.0) as dev:
        pid = dev.transport.pid
        threading.Timer(0.5, lambda: os.killpg(pid, signal.SIGKILL)).start()
        with pytest.raises(DeviceError) as e:
            dev.infer(tm.HANG_INPUT)
        assert e.value.reason == "crash" and "signal 9" in str(e.value)


class _Faulty(QemuTransport):
    """Injects host-side faults into a real QEMU session."""

    def __init__(self, *a, corrupt_writes=0, corrupt_reads=0, garbage=b"", **kw):
        super().__init__(*a, **kw)
        self.corrupt_writes, self.corrupt_reads, self.garbage = corrupt_writes, corrupt_reads, garbage
        self._seen, self._scan, self._crc_at = bytearray(), 0, None   # the reads since the last corruption

    def write(self, data):
        if self.corrupt_writes and len(data) > 8 and data[:2] == b"\xec\x5a":
            self.corrupt_writes -= 1
            data = data[:7] + bytes([data[7] ^ 0xFF]) + data[8:]
        super().write(data)

    def read(self, timeout):
        data = super().read(timeout)
        if data and self.garbage:
            data, self.garbage = self.garbage + data, b""
        if data and self.corrupt_reads:
            data = self._corrupt_reply_crc(data)
        return data

    def _corrupt_reply_crc(self, data: bytes) -> bytes:
        """Flips the first CRC byte of the next reply frame, wherever the reads cut the stream
        (a fixed byte of one read was at times outside every reply, and nothing was retried)."""
        start = len(self._seen)
        self._seen += data
        while self._crc_at is None:   # past other frames' sync bytes (a HELLO, say)
            i = self._seen.find(P.SYNC, self._scan)
            if i < 0 or i + 6 > len(self._seen):
                break
            if self._seen[i + 2] & P.T_REPLY:
                self._crc_at = i + 6 + int.from_bytes(self._seen[i + 4:i + 6], "little")
            self._scan = i + 2
        if self._crc_at is not None and start <= self._crc_at < len(self._seen):
            j = self._crc_at - start
            data = data[:j] + bytes([data[j] ^ 0x55]) + data[j + 1:]
            self.corrupt_reads -= 1
            self._seen, self._scan, self._crc_at = bytearray(), 0, None
        return data


def _faulty_device(target, image, **faults):
    from edgekit.devices import Device
    from edgekit.firmware.boards import board_for_target

    t = _Faulty(target, image.elf, preload_addr=board_for_target(target).preload.origin, **faults)
    dev = Device(t)
    dev.start()
    return dev


def test_request_crc_error_is_retried(target, image):
    with _faulty_device(target, image, corrupt_writes=1) as dev:
        x = _inputs(1, 3)[0]
        assert dev.infer(x).output == tm.reference(x)
        assert dev.stats["retries"] >= 1


def test_reply_crc_error_is_retried(target, image):
    with _faulty_device(target, image) as dev:
        dev.transport.corrupt_reads = 1
        x = _inputs(1, 4)[0]
        assert dev.infer(x).output == tm.reference(x)
        assert dev.stats["retries"] >= 1


def test_garbage_on_the_line_is_skipped(target, image):
    with _faulty_device(target, image) as dev:
        dev.transport.garbage = b"\xec\x00garbage\xec\x5a\x01"
        x = _inputs(1, 5)[0]
        assert dev.infer(x).output == tm.reference(x)


def test_device_that_only_speaks_garbage_is_a_garbage_error():
    from edgekit.devices import Device

    class Noise:
        expects_hello = False
        def start(self, preload=None): pass
        def write(self, data): pass
        def read(self, timeout):
            time.sleep(min(timeout, 0.05))
            return b"\x13\x37 line noise "
        def close(self): pass
        def describe_exit(self): return "noise"

    dev = Device(Noise(), request_timeout_s=0.5)
    with pytest.raises(DeviceError) as e:
        dev.start()
    assert e.value.reason == "garbage"


def test_device_specs():
    assert parse_device_spec("qemu") == ("qemu", None, None)
    assert parse_device_spec("serial:/dev/ttyACM0@921600") == ("serial", "/dev/ttyACM0", 921600)
    assert parse_device_spec("serial:/dev/ttyUSB1") == ("serial", "/dev/ttyUSB1", 115200)
    for bad in ("serial:", "serial:/dev/x@fast", "usb"):
        with pytest.raises(UserError):
            parse_device_spec(bad)


def test_emulator_dies_with_a_killed_host(target, image, tmp_path):
    import subprocess
    import sys

    script = tmp_path / "host.py"
    script.write_text(
        "import sys, time\n"
        "from edgekit.devices import open_device\n"
        "from edgekit.targets import load_target\n"
        "dev = open_device('qemu', load_target('cortex-m4'), sys.argv[1])\n"
        "print(dev.transport.pid, flush=True)\n"
        "time.sleep(60)\n")
    host = subprocess.Popen([sys.executable, str(script), str(image.elf)], stdout=subprocess.PIPE, text=True)
    qemu_pid = int(host.stdout.readline())
    os.kill(qemu_pid, 0)  # running
    host.kill()  # kill -9: no cleanup code runs in the host
    host.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(qemu_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(qemu_pid, signal.SIGKILL)
    pytest.fail("QEMU outlived its killed host")


def test_batch_crash_keeps_the_results_before_it(target, image):
    xs = _inputs(6, seed=9)
    xs[4] = tm.CRASH_INPUT
    with open_device("qemu", target, image) as dev:
        with pytest.raises(DeviceError) as e:
            dev.infer_batch(xs)
        assert e.value.reason == "crash"
        assert [r.output for r in e.value.partial] == [tm.reference(x) for x in xs[:4]]
        dev.restart()
        rest = dev.infer_batch(xs[5:])
        assert rest[0].output == tm.reference(xs[5])
