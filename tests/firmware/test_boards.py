"""Boards under QEMU: start-up, UART, semihosting exit code, fault handler, timing, sizes."""

from __future__ import annotations

import pytest

from edgekit.devices import DeviceError
from edgekit.devices.kinds.qemu import FAULT_EXIT_CODE, run_to_exit
from edgekit.errors import UserError
from edgekit.firmware import build_elf, cpu_flags, measure_elf
from edgekit.firmware.boards import load_board
from edgekit.targets import load_target

PROGRAM = r"""
#include <stdio.h>
#include <stdint.h>
#include "ek_board.h"
int main(void) {
    volatile uint32_t x = 0, loops = LOOPS;
    uint32_t n = loops;  /* same code for every LOOPS: only the iteration count differs */
    uint64_t t0 = ek_timer_now();
    for (uint32_t i = 0; i < n; ++i) x += i;
    uint64_t t1 = ek_timer_now();
    printf("counted %lu %s\n", (unsigned long)ek_timer_elapsed(t0, t1), ek_timer_unit());
    return EXIT_CODE;
}
"""

FAULT = r"""
#include <stdio.h>
int main(void) { printf("before\n"); *(volatile unsigned *)0xFFFFFFF0u = 1; printf("after\n"); return 0; }
"""


def _program(tmp_path, text, name="t.c"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("target_name", ["cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"])
def test_exit_code_uart_and_timer_on_every_board(tmp_path, target_name):
    target = load_target(target_name)
    src = _program(tmp_path, PROGRAM)
    counts = {}
    for loops in (1000, 21000):
        img = build_elf(target, [src], [], {"LOOPS": str(loops), "EXIT_CODE": "42"}, tmp_path / str(loops),
                        app="semihost-test")
        r = run_to_exit(img.elf, target, timeout_s=30)
        assert r.exit_code == 42, (r.output, r.emulator_log)
        line = [l for l in r.output.splitlines() if l.startswith("counted")][0]
        assert line.endswith("instructions (emulated)")
        counts[loops] = int(line.split()[1])
    # 20000 more iterations of a fixed loop body: exactly 20000 x (instructions per
    # iteration), a whole number of 4 to 7 instructions: the count is exact.
    diff = counts[21000] - counts[1000]
    assert diff % 20000 == 0 and 4 <= diff // 20000 <= 7, counts


def test_fault_reports_over_uart_and_exits_nonzero(tmp_path):
    target = load_target("cortex-m4")
    img = build_elf(target, [_program(tmp_path, FAULT)], [], None, tmp_path, app="semihost-test")
    r = run_to_exit(img.elf, target, timeout_s=30)
    assert r.exit_code == FAULT_EXIT_CODE
    assert r.faulted and "before" in r.output and "after" not in r.output
    assert "bfar=0xfffffff0" in r.output  # the faulting address is reported


def test_hang_becomes_timeout(tmp_path):
    target = load_target("cortex-m4")
    src = _program(tmp_path, "int main(void) { for (;;) {} }")
    img = build_elf(target, [src], [], None, tmp_path, app="semihost-test")
    with pytest.raises(DeviceError) as e:
        run_to_exit(img.elf, target, timeout_s=1.5)
    assert e.value.reason == "timeout"


def test_sizes_measured_from_the_link(tmp_path):
    target = load_target("cortex-m4")
    big = _program(tmp_path, r"""
#include <stdint.h>
const int8_t weights[50000] = {1, 2, 3};
int8_t scratch[7000];
int32_t counter = 5;
int main(void) { scratch[counter] = weights[counter - 3]; return scratch[5] - 3; }
""")
    img = build_elf(target, [big], [], None, tmp_path, app="semihost-test")
    s = img.sizes
    assert s.rodata >= 50000 and s.bss >= 7000 and s.data >= 4
    assert s.stack == int(target.memory.stack_kb * 1024)
    assert img.flash_bytes >= s.text + s.rodata + s.data  # + alignment padding only
    assert img.flash_bytes - (s.text + s.rodata + s.data) < 64
    assert img.ram_bytes == s.data + s.bss + s.arena + s.stack
    # The map file attributes the weights to their source file.
    assert img.sizes.by_object[[k for k in s.by_object if k.endswith("_t.o")][0]]["rodata"] >= 50000
    assert run_to_exit(img.elf, target, timeout_s=30).exit_code == 0


def test_arena_section_is_reported_apart(tmp_path):
    target = load_target("cortex-m4")
    src = _program(tmp_path, r"""
#include <stdint.h>
uint8_t ek_arena[12345] EK_ARENA_SECTION __attribute__((aligned(16)));
volatile int where = 100;
int main(void) { ek_arena[where] = 1; return ek_arena[where] - 1; }
""")
    img = build_elf(target, [src], [], None, tmp_path, app="semihost-test")
    assert img.sizes.arena == 12345
    assert img.sizes.bss < 12345


def test_cpu_flags_follow_the_profile():
    assert cpu_flags(load_target("cortex-m4")) == ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
    assert "-mcpu=cortex-m7" in cpu_flags(load_target("cortex-m7"))


def test_compile_error_names_the_problem(tmp_path):
    from edgekit.firmware import FirmwareBuildError

    src = _program(tmp_path, "int main(void) { return undefined_symbol_xyz; }")
    with pytest.raises(FirmwareBuildError) as e:
        build_elf(load_target("cortex-m4"), [src], [], None, tmp_path, app="semihost-test")
    assert "undefined_symbol_xyz" in str(e.value)
    assert not (tmp_path / "firmware.elf").exists()


def test_bad_elf_is_a_user_error(tmp_path):
    p = tmp_path / "x.elf"
    p.write_bytes(b"not an elf at all")
    with pytest.raises(UserError):
        measure_elf(p)


def test_unknown_board_is_a_user_error():
    with pytest.raises(UserError, match="known boards"):
        load_board("no-such-board")
