"""The device-kind registry: specs are parsed by their kind, and a new kind (here a loopback
with a silent transport) is one module plus one entry point."""

from __future__ import annotations

import pytest

from edgekit.devices import emulated_spec, kind_for, kinds, open_device
from edgekit.errors import UserError
from edgekit.targets import load_target
from tests.plugin_dist import install_plugin, uninstall_plugin

PLUGIN = '''
from edgekit.devices.device import Device, LinkClosed
from edgekit.devices.kinds import DeviceKind, DeviceSpec, register


class Silent:
    expects_hello = False
    supports_preload = False

    def start(self, preload=None): self.started = True
    def write(self, data): pass
    def read(self, timeout): return b""
    def close(self): pass
    def describe_exit(self): return "loopback"


@register
class Loopback(DeviceKind):
    name = "loopback"
    usage = "loopback:NAME"
    parallel = True

    def parse(self, spec):
        return DeviceSpec(self.name, spec, {"label": spec.partition(":")[2] or "default"})

    def open(self, spec, target, image, **timeouts):
        dev = Device(Silent(), **timeouts)
        dev.label = spec.args["label"]
        return dev
'''


def test_builtin_kinds_and_their_specs():
    assert {k.name for k in kinds.kinds()} >= {"qemu", "serial"}
    assert kind_for("qemu").parallel and kind_for("qemu").needs_image
    assert not kind_for("serial:/dev/ttyACM0").parallel
    assert kinds.parse("serial:/dev/ttyUSB0@9600").args == {"port": "/dev/ttyUSB0", "baud": 9600}
    with pytest.raises(UserError, match="unknown device; use 'qemu' or 'serial:/dev/ttyACM0\\[@baud\\]'"):
        kind_for("usb0")
    with pytest.raises(UserError, match="takes no arguments"):
        kinds.parse("qemu:fast")
    with pytest.raises(UserError, match="needs a firmware image"):
        open_device("qemu", load_target("cortex-m4"), None, start=False)


def test_the_emulated_kind_of_a_target():
    assert emulated_spec(load_target("cortex-m4")) == "qemu"
    assert emulated_spec(load_target("snapdragon-htp")) is None


def test_a_new_kind_is_one_module_and_one_entry_point(tmp_path, monkeypatch):
    install_plugin(tmp_path, "edgekit-loopback", kinds.ENTRY_POINT_GROUP, "loopback", "edgekit_loopback_kind", PLUGIN)
    monkeypatch.setattr(kinds.REGISTRY, "loaded", False)
    try:
        assert "'loopback:NAME'" in kinds.usage()
        dev = open_device("loopback:bench-3", load_target("cortex-m4"), None, start=False, request_timeout_s=0.1)
        assert dev.label == "bench-3" and dev.request_timeout_s == 0.1 and isinstance(dev.transport, object)
        assert kind_for("loopback:x").parallel
    finally:
        kinds.REGISTRY.members.pop("loopback", None)
        uninstall_plugin(tmp_path, "edgekit_loopback_kind")
