"""A board on a serial port (kind "serial": `serial:/dev/ttyACM0[@baud]`), flashed by the
profile's flasher when given an image, reset by it before a restart. See
docs/ARCHITECTURE.md, "Device kinds"."""

from __future__ import annotations

import subprocess
from pathlib import Path

from edgekit.devices.kinds import DeviceKind, DeviceSpec, register
from edgekit.errors import UserError

DEFAULT_BAUD = 115200


@register
class Serial(DeviceKind):
    name = "serial"
    usage = "serial:/dev/ttyACM0[@baud]"
    parallel = False     # one board on one port

    def parse(self, spec: str) -> DeviceSpec:
        rest = spec[len("serial:"):] if spec.startswith("serial:") else ""
        port, _, baud = rest.partition("@")
        if not port:
            raise UserError(f"--device {spec}: no port; use serial:/dev/ttyACM0[@baud]")
        try:
            rate = int(baud) if baud else DEFAULT_BAUD
        except ValueError:
            raise UserError(f"--device {spec}: baud rate {baud!r} is not a number; e.g. serial:/dev/ttyACM0@115200") from None
        return DeviceSpec(self.name, spec, {"port": port, "baud": rate})

    def open(self, spec: DeviceSpec, target, image, **timeouts):
        """image=None: the board is already flashed (nothing is written to it)."""
        from edgekit.devices.device import Device
        from edgekit.devices.flasher import flash_image, reset_command
        from edgekit.devices.session import SerialTransport

        elf = Path(getattr(image, "elf", image)) if image is not None else None
        reset = reset_command(target)
        transport = SerialTransport(
            spec.args["port"], spec.args["baud"], flash=(lambda: flash_image(target, elf)) if elf is not None else None,
            reset=(lambda: _run_reset(reset)) if reset else None)
        return Device(transport, **timeouts)


def _run_reset(cmd: list[str]) -> None:
    try:
        subprocess.run(cmd, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        pass  # the resync that follows reports a board that stays silent
