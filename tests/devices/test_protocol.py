"""Framing and CRC of the device protocol (host side)."""

from __future__ import annotations

import struct
import zlib

import pytest

from edgekit.devices import protocol as P


def test_frame_round_trip_and_layout():
    f = P.encode_frame(P.T_LOAD, 7, b"\x01\x02\x03")
    assert f[:2] == P.SYNC
    assert struct.unpack_from("<BBH", f, 2) == (P.T_LOAD, 7, 3)
    assert struct.unpack_from("<I", f, len(f) - 4)[0] == zlib.crc32(f[2:-4])
    d = P.FrameDecoder()
    assert d.feed(f) == [P.Frame(P.T_LOAD, 7, b"\x01\x02\x03")]


def test_decoder_skips_noise_and_keeps_it():
    d = P.FrameDecoder()
    frames = d.feed(b"boot text\r\n" + P.encode_frame(1, 1, b"a") + b"\xec junk" + P.encode_frame(2, 2, b""))
    assert [(f.type, f.seq) for f in frames] == [(1, 1), (2, 2)]
    assert "boot text" in d.take_noise()


def test_decoder_handles_byte_by_byte_arrival():
    d = P.FrameDecoder()
    data = P.encode_frame(5, 9, bytes(range(40))) * 2
    frames = [f for b in data for f in d.feed(bytes([b]))]
    assert len(frames) == 2 and frames[0].payload == bytes(range(40))


def test_corrupted_frame_is_rejected_and_decoding_resumes():
    good = P.encode_frame(3, 1, b"payload")
    bad = bytearray(good)
    bad[8] ^= 0x40
    d = P.FrameDecoder()
    frames = d.feed(bytes(bad) + good)
    assert frames == [P.Frame(3, 1, b"payload")]
    assert d.crc_errors == 1


def test_batch_blob_layout():
    blob = P.batch_blob([b"abc", b"def"], "features")
    magic, n, size, stride, kind, off = P.BATCH_HEADER.unpack_from(blob)
    assert (magic, n, size, stride, kind, off) == (P.BATCH_MAGIC, 2, 3, 4, P.KIND_FEATURES, 64)
    assert blob[64:68] == b"abc\0" and blob[68:71] == b"def"
    with pytest.raises(ValueError):
        P.batch_blob([b"a", b"bc"])


def test_oversized_payload_refused():
    with pytest.raises(ValueError):
        P.encode_frame(1, 1, bytes(70000))


def test_false_sync_in_noise_does_not_swallow_the_next_frame():
    d = P.FrameDecoder()
    frames = d.feed(b"noise\xec\x5a\x01\x02\xff\xff" + P.encode_frame(4, 4, b"real"))
    assert frames == [P.Frame(4, 4, b"real")]
