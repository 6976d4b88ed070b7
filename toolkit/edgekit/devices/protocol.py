"""The device protocol's framing (docs/ARCHITECTURE.md, "Device protocol"). The numbers are
also in firmware/app/ek_protocol.h, the device's side; tests/devices/test_protocol_header.py
holds the two equal name by name (a new request: one line here, one there).

    sync 0xEC 0x5A | type u8 | seq u8 | len u16 LE | payload | crc32 u32 LE (zlib, over type..payload)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SYNC = b"\xec\x5a"
PROTOCOL_VERSION = 1
MAX_PAYLOAD = 2048          # what the device accepts in one request
MAX_REPLY_PAYLOAD = 65535   # the u16 length field

T_PING, T_INFO, T_LOAD, T_INVOKE, T_READ_OUTPUT, T_COUNTERS, T_BATCH, T_RESET, T_OPS, T_SUMMARY = range(1, 11)
T_HELLO, T_BATCH_ITEM, T_BATCH_DONE, T_ERROR = 0x70, 0x71, 0x72, 0x7F
T_REPLY = 0x80

KIND_FEATURES, KIND_RAW = 0, 1
KINDS = {"features": KIND_FEATURES, "raw": KIND_RAW}

E_CRC, E_LENGTH, E_UNKNOWN, E_ARGS, E_UNSUPPORTED, E_MODEL, E_PRELOAD = range(1, 8)
ERROR_NAMES = {E_CRC: "crc", E_LENGTH: "length", E_UNKNOWN: "unknown request", E_ARGS: "bad arguments",
               E_UNSUPPORTED: "unsupported", E_MODEL: "model failed", E_PRELOAD: "preload"}

BATCH_MAGIC = 0x31424B45  # "EKB1"
BATCH_HEADER = struct.Struct("<6I")
BATCH_DATA_OFFSET = 64
BATCH_SEND_INPUT = 1      # BATCH flags bit (firmware/app/ek_protocol.h EK_BATCH_SEND_INPUT)


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes


def encode_frame(type_: int, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_REPLY_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    body = struct.pack("<BBH", type_ & 0xFF, seq & 0xFF, len(payload)) + payload
    return SYNC + body + struct.pack("<I", zlib.crc32(body))


class FrameDecoder:
    """Turns a byte stream into frames. Bytes outside frames (the firmware's fault report,
    boot text, line noise) are kept in `noise`; a frame with a bad CRC is counted and
    skipped, and decoding resumes at the next sync bytes."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.noise = bytearray()
        self.crc_errors = 0

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        frames: list[Frame] = []
        while True:
            i = self.buf.find(SYNC)
            if i < 0:
                # Keep a trailing first sync byte: its partner may come in the next read.
                keep = 1 if self.buf[-1:] == SYNC[:1] else 0
                self.noise += self.buf[: len(self.buf) - keep]
                del self.buf[: len(self.buf) - keep]
                return frames
            if i:
                self.noise += self.buf[:i]
                del self.buf[:i]
            if len(self.buf) < 6:
                return frames
            type_, seq, n = struct.unpack_from("<BBH", self.buf, 2)
            if len(self.buf) < 6 + n + 4:
                # Incomplete, or a false start: sync bytes inside noise with a bogus length
                # would otherwise swallow the real frames behind them.
                j = self._later_valid_frame()
                if j is None:
                    return frames
                self.noise += self.buf[:j]
                del self.buf[:j]
                continue
            body = bytes(self.buf[2 : 6 + n])
            (crc,) = struct.unpack_from("<I", self.buf, 6 + n)
            if zlib.crc32(body) != crc:
                # Not a frame after all (or corrupted): skip these sync bytes only.
                self.crc_errors += 1
                self.noise += self.buf[:2]
                del self.buf[:2]
                continue
            frames.append(Frame(type_, seq, body[4:]))
            del self.buf[: 6 + n + 4]

    def _later_valid_frame(self) -> int | None:
        j = self.buf.find(SYNC, 1)
        while j >= 0:
            if len(self.buf) - j >= 10:
                (n,) = struct.unpack_from("<H", self.buf, j + 4)
                end = j + 6 + n
                if len(self.buf) >= end + 4:
                    (crc,) = struct.unpack_from("<I", self.buf, end)
                    if zlib.crc32(bytes(self.buf[j + 2 : end])) == crc:
                        return j
            j = self.buf.find(SYNC, j + 1)
        return None

    def take_noise(self) -> str:
        text = self.noise.decode("utf-8", errors="replace")
        self.noise.clear()
        return text


def batch_blob(items: list[bytes], kind: str = "features") -> bytes:
    """The preload image for a batch: header (ek_batch_header_t) then items at a 4-byte
    aligned stride."""
    if not items:
        raise ValueError("empty batch")
    size = len(items[0])
    if any(len(x) != size for x in items):
        raise ValueError("batch items must all have the same size")
    stride = (size + 3) & ~3
    header = BATCH_HEADER.pack(BATCH_MAGIC, len(items), size, stride, KINDS[kind], BATCH_DATA_OFFSET)
    out = bytearray(header.ljust(BATCH_DATA_OFFSET, b"\0"))
    for x in items:
        out += x.ljust(stride, b"\0")
    return bytes(out)
