"""A host-side fake device for fault injection in the harness's unit tests only.

Its output is a deterministic function of the input bytes, so results can be checked; it
raises errors with the same `reason` values as edgekit.devices.DeviceError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

N_CLASSES = 4


class FakeDeviceError(Exception):
    def __init__(self, reason: str):
        super().__init__(f"fake device: {reason}")
        self.reason = reason


@dataclass
class FakeResult:
    output: bytes
    model_count: int
    frontend_count: int
    unit: str
    stack_high_water: int


def fake_output(data: bytes) -> bytes:
    """int8 scores: class (sum of bytes mod N_CLASSES) gets 100, the others -100."""
    cls = sum(data) % N_CLASSES
    return bytes((100 if i == cls else 156) for i in range(N_CLASSES))  # 156 = -100 as int8


class FakeDevice:
    def __init__(self, fail_on: dict[bytes, str] | None = None, delay_s: float = 0.0, log: list | None = None):
        self.fail_on = fail_on or {}
        self.delay_s = delay_s
        self.log = log if log is not None else []
        self.closed = False

    def _one(self, data: bytes, kind: str) -> FakeResult:
        if data in self.fail_on:
            raise FakeDeviceError(self.fail_on[data])
        time.sleep(self.delay_s)
        return FakeResult(fake_output(data), 1000 + len(data), 0, "instructions (emulated)", 512)

    def infer(self, data: bytes, kind: str) -> FakeResult:
        self.log.append(("infer", kind))
        return self._one(data, kind)

    def infer_batch(self, items: list[bytes], kind: str) -> list[FakeResult]:
        self.log.append(("batch", kind, len(items)))
        return [self._one(d, kind) for d in items]

    def restart(self) -> None:
        self.log.append(("restart",))

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeFrontendResult(FakeResult):
    model_input: bytes | None = None


class FakeFrontendDevice(FakeDevice):
    """A fake with an on-device frontend: a raw input's model input is its first 3 bytes plus
    `skew` (0: the host's features exactly), and the model's output depends on the model
    input only, as on a real device."""

    def __init__(self, skew: dict[bytes, int] | None = None, **kw):
        super().__init__(**kw)
        self.skew = skew or {}

    def _one(self, data: bytes, kind: str, send_model_input: bool = False) -> FakeResult:
        if kind != "raw":
            return super()._one(data, kind)
        d = self.skew.get(data, 0)
        model_input = bytes((b + d) % 256 for b in data[:3])
        r = super()._one(model_input, "features")
        return FakeFrontendResult(r.output, r.model_count, 777, r.unit, r.stack_high_water,
                                  model_input if send_model_input else None)

    def infer_batch(self, items: list[bytes], kind: str, send_model_input: bool = False) -> list[FakeResult]:
        self.log.append(("batch", kind, len(items)))
        return [self._one(d, kind, send_model_input) for d in items]
