"""DeviceError: a device that crashed, went silent or spoke garbage. Never a hang."""

from __future__ import annotations

REASONS = ("timeout", "crc", "crash", "garbage", "protocol")


class DeviceError(Exception):
    def __init__(self, reason: str, detail: str = ""):
        if reason not in REASONS:
            raise ValueError(f"DeviceError reason must be one of {REASONS}, got {reason!r}")
        super().__init__(f"device {reason}: {detail}" if detail else f"device {reason}")
        self.reason = reason
        self.detail = detail
        self.partial: list = []  # infer_batch: the results that arrived before the failure
