"""Device kinds: what a `--device` spec names, in one registry (docs/ARCHITECTURE.md, "Device kinds").

    from edgekit.devices.kinds import kind_for, emulated_spec
    kind = kind_for("serial:/dev/ttyACM0@921600")   # the kind whose spec this is
    kind.parse(spec) -> DeviceSpec; kind.open(parsed, target, image) -> Device (not started)
    emulated_spec(target)                           # "qemu" for a QEMU profile, else None

A kind is a DeviceKind subclass registered with @register. It says:
  name            the spec's first word: "qemu", "serial" (specs are `name` or `name:args`)
  usage           the spec's syntax, for help texts and errors ("serial:/dev/ttyACM0[@baud]")
  parallel        several sessions of it may run at once (emulator instances; one board is one)
  needs_image     open() needs a firmware image (an emulator); a board may already be flashed
  emulates(t)     it emulates target t's board without hardware (what `edgekit build` runs on)
  parse(spec)     the spec's arguments, UserError naming the spec on bad input
  open(...)       a Device over its transport (edgekit.devices.device.Transport), not started

Adding a kind (renode, a labgrid place, a Ray worker): one module with a registered
DeviceKind subclass, plus one registration line: its module name in BUILTIN below, or an
entry point in the group "edgekit.devices" of your own package (`name = "pkg.module"` under
[project.entry-points."edgekit.devices"]); importing the module registers the kind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import ClassVar, Optional, Type

from edgekit.errors import UserError
from edgekit.registry import Registry

ENTRY_POINT_GROUP = "edgekit.devices"
# The kinds that ship with edgekit (modules of this package): one line per kind.
BUILTIN = ("qemu", "serial")


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed --device spec: the kind and its arguments (e.g. port and baud for serial)."""

    kind: str
    text: str
    args: dict = field(default_factory=dict)


class DeviceKind:
    name: ClassVar[str]
    usage: ClassVar[str]
    parallel: ClassVar[bool] = False
    needs_image: ClassVar[bool] = False

    def emulates(self, target) -> bool:
        return False

    def sessions(self, jobs: Optional[int]) -> int:
        """How many sessions to run at once: emulator instances side by side (`jobs`, else
        one per CPU); one board on one port is one session."""
        return (jobs or (os.cpu_count() or 1)) if self.parallel else 1

    def parse(self, spec: str) -> DeviceSpec:
        if spec != self.name:
            raise UserError(f"--device {spec}: takes no arguments; use '{self.usage}'")
        return DeviceSpec(self.name, spec)

    def open(self, spec: DeviceSpec, target, image, **timeouts):
        raise NotImplementedError


REGISTRY: Registry[DeviceKind] = Registry("device kind", ENTRY_POINT_GROUP, __name__, BUILTIN)


def register(cls: Type[DeviceKind]) -> Type[DeviceKind]:
    """Class decorator: make `cls` the kind of specs `cls.name` and `cls.name:...`."""
    if ":" in getattr(cls, "name", ""):
        raise TypeError(f"{cls.__qualname__}: a device kind's name has no ':'")
    return REGISTRY.register(cls)


def kinds() -> list[DeviceKind]:
    return [REGISTRY.load()[n] for n in REGISTRY.names()]


def usage() -> str:
    """The specs every registered kind takes, for help texts: "'qemu' or 'serial:/dev/ttyACM0[@baud]'"."""
    texts = [f"'{k.usage}'" for k in kinds()]
    return ", ".join(texts[:-1]) + f" or {texts[-1]}" if len(texts) > 1 else texts[0]


def kind_for(spec: str) -> DeviceKind:
    """The kind a --device spec names (its text up to the first ':')."""
    return REGISTRY.get(spec.partition(":")[0], lambda known: f"--device {spec}: unknown device; use {usage()}")


def parse(spec: str) -> DeviceSpec:
    return kind_for(spec).parse(spec)


def emulated_spec(target) -> Optional[str]:
    """The spec of a kind that emulates `target`'s board (no hardware needed), or None."""
    for kind in kinds():
        if kind.emulates(target):
            return kind.name
    return None
