"""The cycle estimate from the executed instruction mix (edgekit.cycles): classes, timing
rules, the log fold, and a traced run on QEMU against the emulator's own instruction count."""

from __future__ import annotations

import re

import pytest

from edgekit.cycles import available_cores, call_blocks, estimate, parse_log, timing
from edgekit.cycles.isa import classify, parse
from edgekit.cycles.model import price_block
from edgekit.cycles.trace import Block


@pytest.mark.parametrize("mnemonic, operands, kind", [
    ("ldrsb.w", "r3, [r1, #1]", "load"), ("ldr", "r0, [pc, #4]", "load"), ("strb", "r2, [r0, r1]", "store_register_offset"),
    ("str", "r2, [r0, #4]", "store"), ("ldrd", "r2, r3, [r0]", "load_store_double"), ("push", "{r4, r5, r6, lr}", "multiple"),
    ("smlad", "r0, r1, r2, r0", "mul"), ("smlabb", "r0, r1, r2, r0", "mul"), ("muls", "r0, r1, r0", "mul"),
    ("sdiv", "r0, r1, r2", "div"), ("bne", "#0x1a6", "branch"), ("cbz", "r0, #0x20", "branch"), ("bx", "lr", "indirect_branch"),
    ("itt", "ne", "it"), ("addeq", "r0, r0, #1", "alu"), ("ssat", "r0, #8, r0", "alu"), ("vmla.f32", "s0, s1, s2", "fp_mac"),
    ("vldr", "s0, [r0]", "fp_load"), ("vdiv.f32", "s0, s1, s2", "fp_div"), ("vldrb.s16", "q0, [r1]", "mve_memory"),
    ("vmladava.s8", "r0, q1, q2", "mve"), ("vctp.32", "r2", "mve_predicate"), ("le", "lr, #-0x20", "loop_end"),
    ("ble", "#0x40", "branch"), ("bls", "#0x40", "branch"), ("ldrne", "r0, [r1]", "load"),
])
def test_classify(mnemonic, operands, kind):
    assert classify(mnemonic, operands)[0] == kind


def test_register_lists_count_words_and_pc():
    assert classify("pop", "{r4, r5, r6, r7, pc}")[1:] == (5, True)
    assert classify("vpush", "{d8, d9}")[1] == 4
    assert classify("ldm.w", "r0, {r1-r4}")[1] == 4


def _blk(*lines: str) -> Block:
    insns = []
    for ln in lines:
        m = re.match(r"0x([0-9a-f]+):\s+([0-9a-f]{4}(?: [0-9a-f]{4})?)\s+(\S+)\s*(.*)$", ln)
        insns.append(parse(int(m.group(1), 16), m.group(2), m.group(3), m.group(4)))
    return Block("f", insns)


def test_m4_load_pipelining_and_address_stall():
    t = timing("cortex-m4")
    # Two independent loads: 2 + 1 (TRM 3.3.2: "LDR R0,[R1]; LDR R1,[R2]: normally three cycles").
    assert price_block(_blk("0x00000100:  6808       ldr      r0, [r1]",
                            "0x00000102:  6811       ldr      r1, [r2]"), t)[0] == 3
    # The second load's address is the first load's result: no pipelining, 2 + 2.
    assert price_block(_blk("0x00000100:  6808       ldr      r0, [r1]",
                            "0x00000102:  6801       ldr      r1, [r0]"), t)[0] == 4
    # An address computed by the preceding ALU instruction stalls one cycle: 1 + 2 + 1.
    assert price_block(_blk("0x00000100:  3104       adds     r1, #4",
                            "0x00000102:  6808       ldr      r0, [r1]"), t)[0] == 4
    # A conditional branch ending a block: 1 when not taken, 1 + P (2) when taken.
    base, extra, _ = price_block(_blk("0x00000100:  d207       bhs      #0x112"), t)
    assert (base, base + extra) == (1, 2)
    # PUSH of 4 registers: 1 + N.
    assert price_block(_blk("0x00000100:  b5f0       push     {r4, r5, r6, r7, lr}"), t)[0] == 6


def test_m7_dual_issues_independent_pairs_only():
    t = timing("cortex-m7")
    assert price_block(_blk("0x00000100:  6808       ldr      r0, [r1]",
                            "0x00000102:  3201       adds     r2, #1"), t)[0] == 1
    assert price_block(_blk("0x00000100:  6808       ldr      r0, [r1]",
                            "0x00000102:  3001       adds     r0, #1"), t)[0] == 2   # reads the load's result
    assert price_block(_blk("0x00000100:  6808       ldr      r0, [r1]",
                            "0x00000102:  6813       ldr      r3, [r2]"), t)[0] == 2   # two memory accesses


def test_every_core_table_cites_a_source():
    assert {"cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"} <= set(available_cores())
    for core in available_cores():
        t = timing(core)
        assert t.source and t["load"] >= 1 and t["branch_taken"] >= t["branch_not_taken"]


LOG = """\
----------------
IN: main
0x00000400:  f000 f810  bl       #0x424

Trace 0: 0x7f0000000100 [00800408/00000400/00000110/ff020200] main
----------------
IN: ek_model_invoke
0x00000424:  6808       ldr      r0, [r1]
0x00000426:  3901       subs     r1, #1
0x00000428:  d1fc       bne      #0x424

Trace 0: 0x7f0000000200 [00800408/00000424/00000110/ff020200] ek_model_invoke
Trace 0: 0x7f0000000200 [00800408/00000424/00000110/ff020200] ek_model_invoke
Trace 0: 0x7f0000000200 [00800408/00000424/00000110/ff020200] ek_model_invoke
----------------
IN: ek_model_invoke
0x0000042a:  4770       bx       lr

Trace 0: 0x7f0000000300 [00800408/0000042a/00000110/ff020200] ek_model_invoke
----------------
IN: main
0x00000404:  2000       movs     r0, #0

Trace 0: 0x7f0000000400 [00800408/00000404/00000110/ff020200] main
"""


def test_log_fold_counts_the_window_and_taken_branches():
    mix = parse_log(LOG.splitlines(keepends=True), "ek_model_invoke")
    assert mix.windows == 1 and mix.instructions == 3 * 3 + 1
    loop = (0x424, "00000110", "ff020200")
    assert mix.executions[loop] == 3 and mix.taken[loop] == 2     # the third fell through to 0x42a
    est = estimate(mix, "cortex-m4")
    # loop body: ldr 2 + subs 1 + bne 1 (3 times) + 2 taken x 1 extra; bx lr: 1 + P(2).
    assert est.cycles == 3 * 4 + 2 + 3
    assert est.by_symbol["ek_model_invoke"]["instructions"] == 10


def _tb(symbol: str, pc: int, insns: list[str], runs: int = 1) -> str:
    """One translated block as QEMU's in_asm log prints it, then `runs` executions of it."""
    lines = ["----------------", f"IN: {symbol}"] + [f"0x{pc + 2 * k:08x}:  {i}" for k, i in enumerate(insns)] + [""]
    trace = f"Trace 0: 0x7f0000000000 [00800408/{pc:08x}/00000110/ff020200] {symbol}"
    return "\n".join(lines + [trace] * runs) + "\n"


CALLS_LOG = (_tb("main", 0x400, ["f000 f810  bl       #0x424"])
             + _tb("ek_model_invoke", 0x424, ["f000 f810  bl       #0x500"])
             + _tb("kernel_a", 0x500, ["6808       ldr      r0, [r1]", "3901       subs     r1, #1",
                                       "d1fc       bne      #0x500"], runs=2)
             + _tb("ek_model_invoke", 0x428, ["f000 f810  bl       #0x600"])
             + _tb("kernel_b", 0x600, ["3901       subs     r1, #1", "4770       bx       lr"])
             + _tb("main", 0x404, ["2000       movs     r0, #0"]))


def test_cycles_are_attributed_to_the_window_functions_calls():
    """Per direct call of the window function, in order (the per-layer table of
    benchmarks/perf_cycles.py): the callee, its instructions and cycles; the window's own
    blocks count to the call before (the first call's set-up to the first)."""
    est = estimate(parse_log(CALLS_LOG.splitlines(keepends=True), "ek_model_invoke"), "cortex-m4")
    assert [c["callee"] for c in est.by_call] == ["kernel_a", "kernel_b"]
    assert [c["instructions"] for c in est.by_call] == [1 + 2 * 3 + 1, 2]
    assert sum(c["cycles"] for c in est.by_call) == round(est.cycles)


def test_a_calls_blocks_sum_to_its_cycles_costliest_first():
    """call_blocks (benchmarks/profile_call.py): kernel_a's loop block, run twice (both times
    taken: what runs after the second is not its fall-through), then the window's two BLs
    (the one into kernel_a and the one after it), as in by_call."""
    mix = parse_log(CALLS_LOG.splitlines(keepends=True), "ek_model_invoke")
    est = estimate(mix, "cortex-m4")
    blocks = call_blocks(mix, "cortex-m4", 0)
    assert [(b.symbol, b.executions) for b in blocks] == [("kernel_a", 2)] + [("ek_model_invoke", 1)] * 2
    assert blocks[0].cycles == 2 * (4 + 1) and blocks[0].instructions[0] == "ldr r0, [r1]"
    for i, call in enumerate(est.by_call):
        assert round(sum(b.cycles for b in call_blocks(mix, "cortex-m4", i))) == call["cycles"]
    with pytest.raises(ValueError, match="out of range"):
        call_blocks(mix, "cortex-m4", 2)


def test_flash_wait_states_are_charged():
    mix = parse_log(LOG.splitlines(keepends=True), "ek_model_invoke")
    cached = estimate(mix, "cortex-m4", flash_wait_states=3, flash_accelerator=True)
    uncached = estimate(mix, "cortex-m4", flash_wait_states=3, flash_accelerator=False)
    base = estimate(mix, "cortex-m4").cycles
    assert cached.cycles == base + 3 * 1          # one 16-byte code line, fetched once
    assert uncached.cycles == base + 3 * 3        # 2 loop branches + bx lr taken


PROGRAM = r"""
#include <stdio.h>
#include <stdint.h>
#include "ek_board.h"
volatile int32_t data[256];
__attribute__((noinline)) int ek_model_invoke(void)
{
    int32_t acc = 0;
    for (int r = 0; r < 20; ++r)
        for (int i = 0; i < 256; ++i) acc += data[i] * (i + r);
    return acc;
}
int main(void)
{
    uint64_t t0 = ek_timer_now();
    int v = ek_model_invoke();
    uint64_t t1 = ek_timer_now();
    printf("INS %lu %d\n", (unsigned long)ek_timer_elapsed(t0, t1), v);
    return 0;
}
"""


@pytest.mark.parametrize("target_name", ["cortex-m4", "cortex-m7"])
def test_traced_run_matches_the_emulator_count(tmp_path, target_name):
    from edgekit.cycles import estimate_elf
    from edgekit.firmware import build_elf
    from edgekit.targets import load_target

    target = load_target(target_name)
    (tmp_path / "main.c").write_text(PROGRAM)
    img = build_elf(target, [tmp_path / "main.c"], [], {}, tmp_path, app="semihost-test", name="loop")
    est = estimate_elf(img.elf, target)
    measured = int(re.search(r"INS (\d+)", est_uart(img.elf, target)).group(1))
    # The traced blocks are the instructions QEMU counted between the two timer reads
    # (which add a few of their own).
    assert abs(est.instructions - measured) <= 40
    assert est.by_kind["load"]["instructions"] >= 20 * 256
    # The M4 spends more than a cycle per instruction (its loads cost 2 when they cannot
    # pipeline); the dual-issue M7 less, but never under half.
    if target_name == "cortex-m4":
        assert est.cycles > 1.1 * est.instructions
    else:
        assert est.instructions / 2 <= est.cycles < est.instructions


def est_uart(elf, target) -> str:
    from edgekit.devices.kinds.qemu import run_to_exit

    return run_to_exit(elf, target).output
