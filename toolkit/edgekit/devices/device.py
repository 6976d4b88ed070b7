"""One device interface over two transports (a QEMU session, a board on a serial port).

    with open_device("qemu", target, image) as dev:
        dev.info().model_hash
        r = dev.infer(features_bytes, "features")   # r.output, r.model_count, r.unit
        rs = dev.infer_batch([x0, x1, ...])          # QEMU: preloaded with -device loader

Every wait has a deadline. A device that crashes, stays silent or speaks garbage raises
DeviceError with reason crash / timeout / garbage / crc / protocol; the caller records the
sample as failed and may restart() the device. Requests that failed their CRC on either
side are retried after a resync (zero padding long enough to end any partial frame, then a
PING with a fresh nonce).
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field
from typing import Protocol

from edgekit.devices import protocol as P
from edgekit.devices.errors import DeviceError

FAULT_MARKER = "EK-FAULT"


@dataclass(frozen=True)
class DeviceInfo:
    firmware: str
    board: str
    model: str
    model_hash: str
    preprocessing: str          # the firmware frontend's variant, "none" without one
    arena_bytes: int
    input_bytes: int
    output_bytes: int
    timer_unit: str             # "instructions (emulated)" under QEMU, "cycles" on silicon
    protocol: int
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "DeviceInfo":
        kv = {}
        for line in text.splitlines():
            k, sep, v = line.partition("=")
            if sep:
                kv[k.strip()] = v.strip()
        try:
            return cls(
                firmware=kv["firmware"], board=kv.get("board", ""), model=kv.get("model", ""),
                model_hash=kv.get("model_hash", ""), preprocessing=kv.get("preprocessing", "none"),
                arena_bytes=int(kv.get("arena_bytes", 0)), input_bytes=int(kv["input_bytes"]),
                output_bytes=int(kv["output_bytes"]), timer_unit=kv.get("timer_unit", "cycles"),
                protocol=int(kv.get("protocol", 0)), fields=kv,
            )
        except (KeyError, ValueError) as exc:
            raise DeviceError("protocol", f"malformed info text ({exc}): {text[:200]!r}") from None


@dataclass(frozen=True)
class InferenceResult:
    output: bytes
    model_count: int            # timer units spent in ek_model_invoke
    frontend_count: int         # timer units spent in the on-device frontend (0 for features)
    unit: str
    stack_high_water: int       # bytes
    # the model input the on-device frontend produced (infer_batch(..., send_model_input=True)
    # on a raw batch), None when not asked for or not sent
    model_input: bytes | None = None


@dataclass(frozen=True)
class DeviceCounters:
    """The COUNTERS reply: the last inference's timer counts and stack, and how many
    inferences the device ran since it booted."""

    frontend_count: int
    model_count: int
    stack_high_water: int
    invocations: int


class Transport(Protocol):
    expects_hello: bool

    def start(self, preload: bytes | None = None) -> None: ...
    def write(self, data: bytes) -> None: ...
    def read(self, timeout: float) -> bytes: ...   # b"" on timeout; raises LinkClosed on EOF
    def close(self) -> None: ...
    def describe_exit(self) -> str: ...


class LinkClosed(Exception):
    """The other end went away (emulator exited, port unplugged)."""


class Device:
    def __init__(self, transport: Transport, *, request_timeout_s: float = 10.0,
                 inference_timeout_s: float = 120.0, boot_timeout_s: float = 20.0, retries: int = 2):
        self.transport = transport
        self.request_timeout_s = request_timeout_s
        self.inference_timeout_s = inference_timeout_s
        self.boot_timeout_s = boot_timeout_s
        self.retries = retries
        self.decoder = P.FrameDecoder()
        self._seq = 0
        self._info: DeviceInfo | None = None
        self._started = False
        self.supports_preload = bool(getattr(transport, "supports_preload", False))
        self.stats = {"resyncs": 0, "retries": 0, "restarts": 0}
        self._queue: list[P.Frame] = []

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, preload: bytes | None = None) -> None:
        self.decoder = P.FrameDecoder()
        self._queue = []
        self.transport.start(preload=preload)
        self._started = True
        if self.transport.expects_hello:
            hello = self._wait(lambda f: f.type == P.T_HELLO, self.boot_timeout_s, "boot (HELLO frame)")
            self._info = DeviceInfo.parse(hello.payload.decode("utf-8", errors="replace"))
        else:
            self.resync()

    def restart(self) -> None:
        self.stats["restarts"] += 1
        self.transport.close()
        self.start()

    def close(self) -> None:
        self.transport.close()
        self._started = False

    def __enter__(self) -> "Device":
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- commands -----------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        f = self._request(P.T_INFO, b"")
        self._info = DeviceInfo.parse(f.payload.decode("utf-8", errors="replace"))
        return self._info

    def ping(self, payload: bytes = b"ek") -> bytes:
        return self._request(P.T_PING, payload).payload

    def load(self, data: bytes, kind: str = "features") -> None:
        k = _kind(kind)
        chunk = P.MAX_PAYLOAD - 5
        for off in range(0, max(len(data), 1), chunk):
            part = data[off : off + chunk]
            f = self._request(P.T_LOAD, struct.pack("<BI", k, off) + part)
            (total,) = struct.unpack_from("<I", f.payload)
            if total != off + len(part):
                raise DeviceError("protocol", f"load acknowledged {total} bytes, sent {off + len(part)}")

    def invoke(self, kind: str = "features") -> InferenceResult:
        f = self._request(P.T_INVOKE, bytes([_kind(kind)]), timeout=self.inference_timeout_s)
        status, frontend, model, stack = struct.unpack_from("<iQQI", f.payload)
        out = self._request(P.T_READ_OUTPUT, struct.pack("<IH", 0, 0)).payload
        return InferenceResult(out, model, frontend, self._unit(), stack)

    def op_counts(self) -> list[int]:
        """The timer count of each op of the last inference, in the timer's unit; empty when
        the firmware was built without the per-op profile hook."""
        f = self._request(P.T_OPS, b"")
        (n,) = struct.unpack_from("<I", f.payload)
        if len(f.payload) != 4 + 4 * n:
            raise DeviceError("protocol", f"op counts: {n} announced, {(len(f.payload) - 4) // 4} sent")
        return list(struct.unpack_from(f"<{n}I", f.payload, 4))

    def counters(self) -> DeviceCounters:
        """COUNTERS: what the device counted, read without running anything."""
        f = self._request(P.T_COUNTERS, b"")
        if len(f.payload) != 24:
            raise DeviceError("protocol", f"counters: {len(f.payload)} bytes, expected 24")
        return DeviceCounters(*struct.unpack("<QQII", f.payload))

    def reset(self) -> None:
        """RESET: the firmware acknowledges, then resets the core (SYSRESETREQ); the session
        waits for it to boot again. A soft reset for a core that still answers: a hung or
        faulted one cannot, which is why restart() starts the transport again instead (a new
        emulator, or the profile's reset command for a board)."""
        self._request(P.T_RESET, b"")
        # The HELLO may already sit in the queue or the decoder, read with the ack in one
        # chunk: keep both (dropping them lost the boot now and then); only the text before
        # the reset is stale.
        self.decoder.take_noise()
        if self.transport.expects_hello:
            hello = self._wait(lambda f: f.type == P.T_HELLO, self.boot_timeout_s, "boot after RESET (HELLO frame)")
            self._info = DeviceInfo.parse(hello.payload.decode("utf-8", errors="replace"))
        else:
            self.resync()

    def summary(self, reset: bool = True) -> "SummaryReply":
        """The on-device summary since the last reset (SUMMARY request, firmware/app/ek_summary.h),
        reset afterwards unless reset=False."""
        f = self._request(P.T_SUMMARY, bytes([1 if reset else 0]))
        return SummaryReply.parse(f.payload)

    def infer(self, data: bytes, kind: str = "features") -> InferenceResult:
        info = self._info or self.info()
        if kind == "features" and len(data) != info.input_bytes:
            raise DeviceError("protocol", f"input of {len(data)} bytes; the model takes {info.input_bytes}")
        self.load(data, kind)
        return self.invoke(kind)

    def infer_batch(self, items: list[bytes], kind: str = "features",
                    send_model_input: bool = False) -> list[InferenceResult]:
        """Runs many inputs. Under QEMU they are preloaded into device memory (the emulator
        restarts with the batch attached), so nothing crosses the slow UART but outputs.
        send_model_input: raw items also return the model input their frontend produced
        (InferenceResult.model_input; BATCH flag 1, firmware/app/PROTOCOL.md)."""
        if not items:
            return []
        if not self.supports_preload:
            return [self.infer(x, kind) for x in items]
        info = self._info or self.info()
        capacity = int(info.fields.get("preload_bytes", 0))
        stride = (len(items[0]) + 3) & ~3
        per_chunk = max(1, (capacity - P.BATCH_DATA_OFFSET) // stride) if capacity else len(items)
        results: list[InferenceResult] = []
        for start in range(0, len(items), per_chunk):
            chunk = items[start : start + per_chunk]
            self.transport.close()
            try:
                self.start(preload=P.batch_blob(chunk, kind))
                self._run_preloaded(len(chunk), results, send_model_input and kind == "raw")
            except DeviceError as exc:
                # The caller records these and resumes after the failed item (index
                # len(exc.partial)), after restart().
                exc.partial = results
                raise
        return results

    def _run_preloaded(self, n: int, results: list[InferenceResult], send_model_input: bool = False) -> None:
        """Runs the preloaded batch, appending to `results` as items arrive."""
        seq = self._next_seq()
        request = struct.pack("<III", 0, n, P.BATCH_SEND_INPUT) if send_model_input else struct.pack("<II", 0, n)
        self.transport.write(P.encode_frame(P.T_BATCH, seq, request))
        out_bytes = self._info.output_bytes if self._info else 0
        in_bytes = self._info.input_bytes if self._info else 0
        base = len(results)
        while True:
            f = self._wait(lambda fr: fr.seq == seq and fr.type in (P.T_BATCH_ITEM, P.T_BATCH_DONE, P.T_ERROR),
                           self.inference_timeout_s, f"batch item {len(results) - base}/{n}")
            if f.type == P.T_ERROR:
                raise _device_error_frame(f)
            if f.type == P.T_BATCH_DONE:
                break
            idx, status, frontend, model, stack = struct.unpack_from("<IiQQI", f.payload)
            if idx != len(results) - base:
                raise DeviceError("protocol", f"batch item {idx} arrived, expected {len(results) - base}")
            if status != 0:
                raise DeviceError("protocol", f"batch item {idx}: model returned {status}")
            body, model_input = f.payload[28:], None
            if send_model_input and len(body) == out_bytes + in_bytes:
                body, model_input = body[:out_bytes], body[out_bytes:]
            results.append(InferenceResult(body, model, frontend, self._unit(), stack, model_input))
        if len(results) - base != n:
            raise DeviceError("protocol", f"batch ended after {len(results) - base} of {n} items")

    # -- plumbing -----------------------------------------------------------------------
    def _unit(self) -> str:
        return self._info.timer_unit if self._info else "cycles"

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _request(self, type_: int, payload: bytes, timeout: float | None = None) -> P.Frame:
        last: DeviceError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
                self.resync()
            seq = self._next_seq()
            self.transport.write(P.encode_frame(type_, seq, payload))
            crc_before = self.decoder.crc_errors
            try:
                f = self._wait(lambda fr: fr.seq == seq and fr.type in (type_ | P.T_REPLY, P.T_ERROR),
                               timeout or self.request_timeout_s, f"reply to request 0x{type_:02x}")
            except DeviceError as exc:
                # A reply garbled on the way back: resync and ask again. Crashes and
                # silence are not retried here (the caller restarts the device).
                if exc.reason in ("crc", "garbage") or (exc.reason == "timeout" and self.decoder.crc_errors > crc_before):
                    last = exc
                    continue
                raise
            if f.type == P.T_ERROR:
                err = _device_error_frame(f)
                if err.reason == "crc":     # our request was garbled on the way in
                    last = err
                    continue
                raise err
            return f
        raise last or DeviceError("protocol", "request failed")

    def resync(self) -> None:
        """Ends any partial frame on the device with padding, then waits for a fresh PING."""
        self.stats["resyncs"] += 1
        self.transport.write(b"\0" * (P.MAX_PAYLOAD + 16))
        nonce = os.urandom(4)
        seq = self._next_seq()
        self.transport.write(P.encode_frame(P.T_PING, seq, nonce))
        self._wait(lambda f: f.seq == seq and f.type == P.T_PING | P.T_REPLY and f.payload == nonce,
                   self.request_timeout_s, "resync")
        self.decoder.take_noise()

    def _wait(self, want, timeout: float, what: str) -> P.Frame:
        deadline = time.monotonic() + timeout
        crc_start = self.decoder.crc_errors
        while True:
            for f in self._pending_frames():
                if want(f):
                    return f
            noise = self.decoder.noise.decode("utf-8", errors="replace")
            if FAULT_MARKER in noise:
                self._raise_crash(what)
            left = deadline - time.monotonic()
            if left <= 0:
                if self.decoder.noise.strip(b"\0"):
                    raise DeviceError("garbage", f"waiting for {what}: no valid frame in {timeout:g} s, "
                                                 f"only {len(self.decoder.noise)} bytes of noise "
                                                 f"({self.decoder.crc_errors} bad CRCs): {noise[-120:]!r}")
                if self.decoder.crc_errors:
                    raise DeviceError("crc", f"waiting for {what}: {self.decoder.crc_errors} frames failed their CRC")
                raise DeviceError("timeout", f"no {what} within {timeout:g} s")
            try:
                data = self.transport.read(min(left, 0.3))
            except LinkClosed:
                self._raise_crash(what)
            if data:
                self._queue.extend(self.decoder.feed(data))
            elif self.decoder.crc_errors > crc_start and not self.decoder.buf:
                # A frame failed its CRC and the line went quiet: the reply we wait for
                # was probably that frame; do not sit out the whole timeout.
                raise DeviceError("crc", f"waiting for {what}: a frame failed its CRC")

    def _pending_frames(self):
        while self._queue:
            yield self._queue.pop(0)

    def _raise_crash(self, what: str) -> None:
        # Give the emulator a moment to finish writing its fault report and exit.
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                data = self.transport.read(0.1)
            except LinkClosed:
                break
            if not data:
                break
            self.decoder.feed(data)
        report = self.decoder.take_noise().strip().replace("\r", "")
        fault = report[report.find(FAULT_MARKER):] if FAULT_MARKER in report else ""
        exit_info = self.transport.describe_exit()
        detail = "; ".join(x for x in (f"while waiting for {what}", exit_info, fault.splitlines()[0] if fault else "") if x)
        self._started = False
        raise DeviceError("crash", detail)


@dataclass(frozen=True)
class SummaryReply:
    """The SUMMARY reply: the device summary's integers, the timer count of the last
    inference's summary update, and the bytes of its state."""

    count: int
    elements: int
    class_hist: tuple[int, ...]
    conf_hist: tuple[int, ...]
    feature_sum: tuple[int, ...]
    feature_sumsq: tuple[int, ...]
    last_update_count: int
    state_bytes: int

    CONF_BINS = 16

    @classmethod
    def parse(cls, p: bytes) -> "SummaryReply":
        if len(p) < 24 or p[0] != 1:
            raise DeviceError("protocol", f"summary reply: {len(p)} bytes, version {p[0] if p else None}")
        nc, nf = struct.unpack_from("<HH", p, 2)
        count, elements, cost, state = struct.unpack_from("<4I", p, 8)
        want = 24 + 4 * (nc + cls.CONF_BINS) + 16 * nf
        if len(p) != want:
            raise DeviceError("protocol", f"summary reply: {len(p)} bytes, {want} for {nc} classes, {nf} features")
        k = 24
        ch = struct.unpack_from(f"<{nc}I", p, k)
        cb = struct.unpack_from(f"<{cls.CONF_BINS}I", p, k + 4 * nc)
        k += 4 * (nc + cls.CONF_BINS)
        fs = struct.unpack_from(f"<{nf}q", p, k)
        fq = struct.unpack_from(f"<{nf}q", p, k + 8 * nf)
        return cls(count, elements, ch, cb, fs, fq, cost, state)


def _kind(kind: str) -> int:
    try:
        return P.KINDS[kind]
    except KeyError:
        raise DeviceError("protocol", f"unknown input kind {kind!r}; use 'features' or 'raw'") from None


def _device_error_frame(f: P.Frame) -> DeviceError:
    code = f.payload[0] if f.payload else 0
    msg = f.payload[2:].decode("utf-8", errors="replace")
    reason = "crc" if code == P.E_CRC else "protocol"
    return DeviceError(reason, f"device error {P.ERROR_NAMES.get(code, code)}: {msg}")
