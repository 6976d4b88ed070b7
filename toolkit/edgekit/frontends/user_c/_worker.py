"""The worker process of a user C frontend's host build (edgekit.frontends.user_c.host).

Run as a script (not imported: it must start fast and load nothing of edgekit):
    python _worker.py LIBRARY OUTPUT_BYTES
Protocol on the pipes, little-endian: after start, one hello (u32 n, n bytes: the variant
string); then per request (u32 n, n raw bytes) one reply (i32 rc, u32 m, m bytes of the
adapter's last error, then OUTPUT_BYTES of int8 tensor when rc == 0). Whatever the user's
code prints goes to stderr, never into the protocol.
"""

import ctypes
import os
import struct
import sys


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, n - got)
        if not b:
            raise EOFError
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main() -> int:
    lib_path, n_out = sys.argv[1], int(sys.argv[2])
    proto_out = os.dup(1)
    os.dup2(2, 1)  # the user's printf goes to stderr
    proto_in = 0
    lib = ctypes.CDLL(lib_path)
    lib.ek_frontend_run.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    lib.ek_frontend_run.restype = ctypes.c_int
    lib.ek_frontend_last_error.restype = ctypes.c_char_p
    lib.ek_frontend_variant.restype = ctypes.c_char_p
    name = lib.ek_frontend_variant() or b""
    _write_all(proto_out, struct.pack("<I", len(name)) + name)
    out = ctypes.create_string_buffer(max(n_out, 1))
    while True:
        try:
            (n,) = struct.unpack("<I", _read_exact(proto_in, 4))
            data = _read_exact(proto_in, n)
        except EOFError:
            return 0
        buf = ctypes.create_string_buffer(data, max(n, 1))
        rc = lib.ek_frontend_run(buf, n, out)
        msg = lib.ek_frontend_last_error() or b""
        reply = struct.pack("<iI", rc, len(msg)) + msg + (out.raw[:n_out] if rc == 0 else b"")
        _write_all(proto_out, reply)


if __name__ == "__main__":
    sys.exit(main())
