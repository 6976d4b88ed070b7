"""The PlatformIO export: structure, and the exported sources built with the flags of its
platformio.ini (PlatformIO's registry is unreachable here, so arm-none-eabi-gcc stands in
for `pio run`) and run on QEMU with UART hooks for the emulated board."""

from __future__ import annotations

import configparser
import shlex
import subprocess
from pathlib import Path

from edgekit.devices import Device
from edgekit.devices.session import QemuTransport
from edgekit.firmware import toolchain
from edgekit.firmware.platformio import export_platformio
from edgekit.targets import load_target
from tests.firmware import testmodel as tm

HOOKS = Path(__file__).parent / "qemu_hooks" / "ek_user_hooks_qemu.c"


def test_export_structure(tmp_path):
    t = load_target("cortex-m4")
    proj = export_platformio(t, [tm.SOURCE], [], {"EK_KERNELS_DSP": "1"}, tmp_path / "pio")
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(proj / "platformio.ini")
    env = cfg["env:cortex-m4"]
    assert env["platform"] == "nordicnrf52" and env["board"] == "nrf52840_dk"
    assert env["board_build.ldscript"] == "ld/sections.ld"
    flags = env["build_flags"].split()
    assert "-mcpu=cortex-m4" in flags and "-DEK_KERNELS_DSP=1" in flags
    names = {p.name for p in (proj / "src").iterdir()}
    assert {"startup.c", "board_generic.c", "ek_app.c", "test_model.c", "ek_user_hooks.c"} <= names
    assert {"ek_model.h", "ek_board.h", "ek_user_hooks.h", "ek_protocol.h"} <= {p.name for p in (proj / "include").iterdir()}
    mem = (proj / "ld" / "memory.ld").read_text()
    assert "LENGTH = 0x100000" in mem and "LENGTH = 0x40000" in mem  # 1024 KB flash, 256 KB RAM from the profile
    assert not any(p.name.startswith(".pio-") for p in tmp_path.iterdir())  # no temp dir left


def test_exported_project_builds_and_serves_the_protocol(tmp_path):
    t = load_target("cortex-m4")
    proj = export_platformio(t, [tm.SOURCE], [], {}, tmp_path / "pio", hooks_source=HOOKS)
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(proj / "platformio.ini")
    flags = shlex.split(cfg["env:cortex-m4"]["build_flags"].replace("\n", " "))
    elf = tmp_path / "fw.elf"
    srcs = sorted(str(p) for p in (proj / "src").glob("*.c"))
    subprocess.run([toolchain(), *flags, *srcs, "-T", "ld/sections.ld", "-o", str(elf)], cwd=proj, check=True)
    dev = Device(QemuTransport(t, elf))
    with dev:
        info = dev.info()
        assert info.board == "generic" and info.timer_unit == "cycles"
        x = bytes(range(16))
        assert dev.infer(x).output == tm.reference(x)
