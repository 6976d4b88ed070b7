"""Host twin of tests/firmware/testmodel/test_model.c (a fixed 16->4 int8 FC layer)."""

from pathlib import Path

import numpy as np

SOURCE = Path(__file__).parent / "testmodel" / "test_model.c"
ZP_IN, ZP_OUT = -3, 5
W = np.array([
    [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16],
    [-1, 1] * 8,
    [127] + [0] * 14 + [-128],
    [3] * 16,
], dtype=np.int32)
B = np.array([100, -50, 0, 7], dtype=np.int32)
CRASH_INPUT = bytes([127, 127, 128]) + bytes(13)   # makes the model fault (bus error)
HANG_INPUT = bytes([127, 127, 127]) + bytes(13)    # makes the model spin forever


def reference(x: bytes) -> bytes:
    v = np.frombuffer(x, dtype=np.int8).astype(np.int32)
    acc = W @ (v - ZP_IN) + B
    out = np.clip((acc >> 6) + ZP_OUT, -128, 127).astype(np.int8)
    return out.tobytes()
