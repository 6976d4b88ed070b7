"""Devices: QEMU sessions and boards on a serial port, behind one interface.

    from edgekit.devices import open_device
    with open_device("qemu", target, image) as dev:            # image: FirmwareImage or ELF path
        dev.info(); dev.infer(x, "features"); dev.infer_batch(xs)
    open_device("serial:/dev/ttyACM0@921600", target, image)    # flashed by the profile's flasher
"""

from __future__ import annotations

from pathlib import Path

from edgekit.devices.device import Device, DeviceInfo, InferenceResult, LinkClosed
from edgekit.devices.errors import REASONS, DeviceError
from edgekit.devices.flasher import flash_command, flash_image
from edgekit.errors import UserError
from edgekit.targets.schema import TargetProfile

__all__ = ["Device", "DeviceError", "DeviceInfo", "InferenceResult", "LinkClosed", "REASONS",
           "open_device", "parse_device_spec", "flash_command", "flash_image"]


def parse_device_spec(spec: str) -> tuple[str, str | None, int | None]:
    """"qemu" -> ("qemu", None, None); "serial:/dev/ttyACM0@921600" -> ("serial", port, baud)."""
    if spec == "qemu":
        return "qemu", None, None
    if spec.startswith("serial:"):
        rest = spec[len("serial:"):]
        port, _, baud = rest.partition("@")
        if not port:
            raise UserError(f"--device {spec}: no port; use serial:/dev/ttyACM0[@baud]")
        try:
            return "serial", port, int(baud) if baud else 115200
        except ValueError:
            raise UserError(f"--device {spec}: baud rate {baud!r} is not a number; e.g. serial:/dev/ttyACM0@115200") from None
    raise UserError(f"--device {spec}: unknown device; use 'qemu' or 'serial:/dev/ttyACM0[@baud]'")


def open_device(spec: str, target: TargetProfile, image, *, start: bool = True, **timeouts) -> Device:
    """A started Device (use it as a context manager to close it).

    image: a FirmwareImage or ELF path. For a serial board, image=None means the board is
    already flashed (nothing is written to it)."""
    kind, port, baud = parse_device_spec(spec)
    if image is None and kind == "qemu":
        raise UserError("--device qemu: needs a firmware image; run `edgekit build` first")
    elf = Path(getattr(image, "elf", image)) if image is not None else None
    if kind == "qemu":
        from edgekit.devices.session import QemuTransport
        from edgekit.firmware.boards import board_for_target

        board = board_for_target(target)
        transport = QemuTransport(target, elf, preload_addr=board.preload.origin if board.preload else None)
    else:
        from edgekit.devices.session import SerialTransport

        from edgekit.devices.flasher import reset_command

        reset = reset_command(target)
        transport = SerialTransport(
            port, baud, flash=(lambda: flash_image(target, elf)) if elf is not None else None,
            reset=(lambda: _run_reset(reset)) if reset else None)
    dev = Device(transport, **timeouts)
    if start:
        dev.start()
    return dev


def _run_reset(cmd: list[str]) -> None:
    import subprocess

    try:
        subprocess.run(cmd, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pass  # the resync that follows reports a board that stays silent
