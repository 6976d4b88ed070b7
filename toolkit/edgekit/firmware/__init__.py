"""Firmware build: arm-none-eabi-gcc with the target's CPU flags, one ELF per target and
model, and its flash/RAM figures measured from the link (ELF sections + map file).

    img = build_elf(target, sources, include_dirs, defines, out_dir, app="protocol")
    img.flash_bytes, img.ram_bytes, img.sizes.arena

Boards live in firmware/boards/<qemu machine>/ (board.yaml; board_config.h is generated from it) and
firmware/boards/generic/ (real hardware: the user supplies UART and clock hooks). All QEMU
boards share firmware/boards/common/ (start-up, CMSDK UART, SysTick timing, semihosting).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from edgekit import resources
from edgekit.errors import UserError
from edgekit.firmware.boards import Board, board_for_target, load_board
from edgekit.firmware.elfsize import SectionSizes, measure_elf
from edgekit.targets import kernel_variants
from edgekit.targets.schema import TargetProfile

__all__ = [
    "Board", "FirmwareImage", "SectionSizes", "build_elf", "board_for_target", "load_board",
    "cpu_flags", "measure_elf", "ICOUNT_SHIFT", "toolchain", "FirmwareBuildError",
]

# QEMU runs with `-icount shift=ICOUNT_SHIFT`; the firmware's timer converts SysTick ticks
# back to instructions with the same shift (see firmware/boards/common/board_qemu.c).
# Any shift counts instructions deterministically; 7 (128 ns of virtual time per
# instruction) makes a 25 MHz SysTick tick shorter than half an instruction, so tick
# differences give exact instruction counts (at shift 0 a tick is 40 instructions).
ICOUNT_SHIFT = 7

App = Literal["protocol", "semihost-test"]


@dataclass(frozen=True)
class FirmwareImage:
    elf: Path
    map: Path
    sizes: SectionSizes
    flash_bytes: int      # measured from the link: text + rodata + data (load image)
    ram_bytes: int        # measured from the link: data + bss + arena + stack
    board: str
    app: str
    defines: dict[str, str] = field(default_factory=dict)
    cflags: list[str] = field(default_factory=list)


def toolchain() -> str:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise UserError("arm-none-eabi-gcc: not found on PATH; install Debian's gcc-arm-none-eabi "
                        "and libnewlib-arm-none-eabi (`make setup`)")
    return gcc


def cpu_flags(target: TargetProfile) -> list[str]:
    """-mcpu/-mthumb/-mfpu/-mfloat-abi from the profile's core."""
    if target.core is None:
        raise UserError(f"target {target.name}: core: no CPU to build firmware for "
                        f"(runtime {target.runtime.name} targets an NPU)")
    c = target.core
    flags = [f"-mcpu={c.cpu}", "-mthumb"]
    if c.float_abi != "soft" and c.fpu:
        flags.append(f"-mfpu={c.fpu}")
    flags.append(f"-mfloat-abi={c.float_abi}")
    return flags


def kernel_defines(kernels: str) -> dict[str, str]:
    """The C defines that select a kernel variant of firmware/runtime (the table in
    targets/kernel_variants.py)."""
    return kernel_variants.defines(kernels)


# What the protocol app needs of the generated model: the per-op profile hook, so the app
# counts every op of each inference (the OPS request; a timer read per op, a few hundred
# instructions on a whole model).
APP_DEFINES = {"EK_PROFILE_HOOK": "ek_app_prof"}


def _defines_args(defines: dict[str, str] | Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    if not defines:
        return [], {}
    if isinstance(defines, dict):
        d = {str(k): str(v) for k, v in defines.items()}
    else:
        d = {}
        for item in defines:
            k, _, v = str(item).partition("=")
            d[k] = v or "1"
    return [f"-D{k}={v}" for k, v in d.items()], d


def build_elf(
    target: TargetProfile,
    sources: Sequence[Path | str],
    include_dirs: Sequence[Path | str] = (),
    defines: dict[str, str] | Sequence[str] | None = None,
    out_dir: Path | str = ".",
    app: App = "protocol",
    opt: str = "-O2",
    board: str | None = None,
    name: str = "firmware",
    extra_cflags: Sequence[str] = (),
) -> FirmwareImage:
    """Compile and link `sources` for `target` into out_dir/<name>.elf (+ .map).

    app="protocol" adds the device app (firmware/app/: the host protocol) and expects the
    sources to implement firmware/runtime/include/ek_model.h. app="semihost-test" links the
    caller's own main() (a C test program that ends with exit(code) via semihosting).
    """
    gcc = toolchain()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    brd = load_board(board) if board else board_for_target(target)
    fw = resources.firmware_dir()
    srcs = [Path(s) for s in sources]
    for s in srcs:
        if not s.is_file():
            raise UserError(f"{s}: firmware source not found")
    board_srcs = [fw / "boards" / f for f in brd.sources]
    app_srcs: list[Path] = []
    if app == "protocol":
        app_srcs = sorted((fw / "app").glob("*.c"))
    elif app != "semihost-test":
        raise UserError(f"app: unknown firmware app {app!r}; use 'protocol' or 'semihost-test'")
    # board_config.h is generated from board.yaml (Board.config_header) next to the build.
    gen_dir = out_dir / f".board-{brd.name}"
    gen_dir.mkdir(exist_ok=True)
    (gen_dir / "board_config.h").write_text(brd.config_header())
    incs = [gen_dir, fw / "boards" / brd.name, fw / "boards" / "common", fw / "app",
            fw / "runtime" / "include", *[Path(i) for i in include_dirs]]
    stack_bytes = int(round((target.memory.stack_kb or 16) * 1024))
    def_args, def_map = _defines_args(defines)
    # The generated arena goes to its own NOLOAD section, so the link reports it apart.
    def_args = [f"-DEK_ICOUNT_SHIFT={ICOUNT_SHIFT}",
                '-DEK_ARENA_SECTION=__attribute__((section(".ek_arena")))', *def_args]
    if app == "protocol":
        def_args += [f"-D{k}={v}" for k, v in APP_DEFINES.items() if k not in def_map]

    elf = out_dir / f"{name}.elf"
    map_path = out_dir / f"{name}.map"
    cflags = [
        *cpu_flags(target), opt, "-g", "-std=gnu11", "-Wall", "-Wno-unused-function",
        "-ffunction-sections", "-fdata-sections", "-fno-common", *extra_cflags,
    ]
    # Link in a temp dir inside out_dir, then rename: a failed build never leaves a stale
    # firmware.elf that looks current.
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        tmpd = Path(tmp)
        (tmpd / "memory.ld").write_text(brd.memory_ld(target))
        tmp_elf, tmp_map = tmpd / elf.name, tmpd / map_path.name
        # One object per source, named after it, so the map file says which source (model
        # weights, kernels, app, board) takes how much flash and RAM.
        objs: list[Path] = []
        compile_flags = [*cflags, *def_args, *[f"-I{i}" for i in incs]]
        for src in (*board_srcs, *app_srcs, *srcs):
            obj = tmpd / f"{len(objs):03d}_{src.stem}.o"
            _run(gcc, [*compile_flags, "-c", str(src), "-o", str(obj)], out_dir, name)
            objs.append(obj)
        _run(gcc, [
            *cpu_flags(target), *[str(o) for o in objs],
            "-nostartfiles", "--specs=nano.specs",
            f"-L{tmpd}", f"-T{fw / 'boards' / 'common' / 'sections.ld'}",
            f"-Wl,--defsym=__stack_size={stack_bytes}",
            "-Wl,--gc-sections", f"-Wl,-Map={tmp_map}", "-Wl,--no-warn-rwx-segments",
            "-o", str(tmp_elf), "-lm",
        ], out_dir, name)
        os.replace(tmp_elf, elf)
        os.replace(tmp_map, map_path)
    sizes = measure_elf(elf, map_path)
    return FirmwareImage(
        elf=elf, map=map_path, sizes=sizes, flash_bytes=sizes.flash_bytes, ram_bytes=sizes.ram_bytes,
        board=brd.name, app=app, defines=def_map, cflags=cflags,
    )


def _run(gcc: str, args: list[str], out_dir: Path, name: str) -> None:
    cmd = [gcc, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        (out_dir / f"{name}.build.log").write_text(" ".join(cmd) + "\n\n" + proc.stderr)
        raise FirmwareBuildError(_first_error(proc.stderr), proc.stderr, cmd)


class FirmwareBuildError(Exception):
    """The compiler or linker failed: a bug in generated code or kernels, or an overflow of
    the emulated board's memory. Carries the full log; str() is its first error line."""

    def __init__(self, first_line: str, log: str, cmd: list[str]):
        super().__init__(f"firmware build failed: {first_line}")
        self.log = log
        self.cmd = cmd


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if ": error:" in line or "will not fit" in line or "overflowed" in line or "undefined reference" in line:
            return line.strip()
    lines = [l for l in stderr.splitlines() if l.strip()]
    return lines[-1].strip() if lines else "unknown error"
