"""Raw sample -> the bytes a frontend takes (see firmware/frontends/include/ek_frontend.h)."""

from __future__ import annotations

import struct

import numpy as np

from edgekit.errors import UserError

IMAGE_HEADER = struct.Struct("<HHHH")  # width, height, channels, reserved (0)


def raw_bytes(pre_spec, raw: np.ndarray) -> bytes:
    """int16 PCM -> little-endian bytes; uint8 image -> 8-byte size header + HxWxC pixels.

    The header form lets one firmware accept frames of any sensor; frames of the configured
    sensor size may also be sent without it.
    """
    pre_spec = getattr(pre_spec, "preprocessing", pre_spec)
    a = np.asarray(raw)
    if pre_spec.kind == "mfcc":
        if a.dtype != np.int16:
            raise UserError(f"raw audio: expected int16 PCM, got {a.dtype}; load it with edgekit.data.load_raw")
        return a.reshape(-1).astype("<i2").tobytes()
    if a.dtype != np.uint8:
        raise UserError(f"raw image: expected uint8 pixels, got {a.dtype}; load it with edgekit.data.load_raw")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3):
        raise UserError(f"raw image: expected HxW, HxWx1 or HxWx3, got shape {a.shape}")
    h, w, c = a.shape
    if max(h, w) > 65535:
        raise UserError(f"raw image: {w}x{h} is larger than the frontend accepts (65535 per side)")
    return IMAGE_HEADER.pack(w, h, c, 0) + np.ascontiguousarray(a).tobytes()
