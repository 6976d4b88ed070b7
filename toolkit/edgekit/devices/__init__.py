"""Devices: QEMU sessions and boards on a serial port, behind one interface.

    from edgekit.devices import open_device
    with open_device("qemu", target, image) as dev:            # image: FirmwareImage or ELF path
        dev.info(); dev.infer(x, "features"); dev.infer_batch(xs)
    open_device("serial:/dev/ttyACM0@921600", target, image)    # flashed by the profile's flasher

The spec's kind comes from the registry in edgekit.devices.kinds (one module per kind;
see there, and docs/ARCHITECTURE.md, "Device kinds", to add one).
"""

from __future__ import annotations

from edgekit.devices import kinds
from edgekit.devices.device import Device, DeviceInfo, InferenceResult, LinkClosed
from edgekit.devices.errors import REASONS, DeviceError
from edgekit.devices.flasher import flash_command, flash_image
from edgekit.devices.kinds import DeviceKind, DeviceSpec, emulated_spec, kind_for

__all__ = ["Device", "DeviceError", "DeviceInfo", "DeviceKind", "DeviceSpec", "InferenceResult", "LinkClosed",
           "REASONS", "emulated_spec", "kind_for", "open_device", "parse_device_spec", "flash_command",
           "flash_image"]


def parse_device_spec(spec: str) -> tuple[str, str | None, int | None]:
    """"qemu" -> ("qemu", None, None); "serial:/dev/ttyACM0@921600" -> ("serial", port, baud)."""
    parsed = kinds.parse(spec)
    return parsed.kind, parsed.args.get("port"), parsed.args.get("baud")


def open_device(spec: str, target, image, *, start: bool = True, **timeouts) -> Device:
    """A started Device (use it as a context manager to close it).

    image: a FirmwareImage or ELF path. For a serial board, image=None means the board is
    already flashed (nothing is written to it)."""
    kind = kind_for(spec)
    dev = kind.open(kind.parse(spec), target, image, **timeouts)
    if start:
        dev.start()
    return dev
