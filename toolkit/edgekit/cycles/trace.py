"""The executed instruction mix of one function's calls, from QEMU's translation-block log.

QEMU is started with `-d in_asm,exec,nochain`: in_asm prints each translation block (TB) as it
is translated (address, encoding, mnemonic, operands: QEMU's own disassembler), and exec with
nochain prints every execution of a block, chained or not. The log is read as a stream (no
file on disk). A window opens when a block of the window function (ek_model_invoke) runs after
a block of another function (its caller) and closes when a block of that caller runs again;
every block executed in between is counted, and whether its final branch was taken is read
from the next block's address (fall-through = the address after the block's last instruction).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.cycles.isa import Insn, parse

_INSN = re.compile(r"^0x([0-9a-f]+):\s+([0-9a-f]{4}(?: [0-9a-f]{4})?)\s+(\S+)\s*(.*)$")
_TRACE = re.compile(r"^Trace \d+: \S+ \[([0-9a-f]+)/([0-9a-f]+)/([0-9a-f]+)/([0-9a-f]+)\]\s*(\S*)")


@dataclass
class Block:
    symbol: str
    insns: list[Insn]

    @property
    def end(self) -> int:
        last = self.insns[-1]
        return last.address + last.size


@dataclass
class TraceMix:
    """Executions of each translated block inside the windows (one window per call)."""
    blocks: dict = field(default_factory=dict)     # key -> Block
    executions: dict = field(default_factory=dict)  # key -> times executed in a window
    taken: dict = field(default_factory=dict)       # key -> times its last branch was taken
    windows: int = 0
    unmapped: int = 0                               # executions whose block was never printed
    uart: str = ""
    # The window function's direct calls in the first window, in order: the callee's symbol, and
    # (call index, key) -> executions / taken. The window's own blocks count to the call before.
    callees: list = field(default_factory=list)
    call_executions: dict = field(default_factory=dict)
    call_taken: dict = field(default_factory=dict)

    @property
    def instructions(self) -> int:
        return sum(len(self.blocks[k].insns) * n for k, n in self.executions.items())


def parse_log(lines, window: str) -> TraceMix:
    """Fold a `-d in_asm,exec,nochain` log (an iterable of lines) into a TraceMix."""
    mix = TraceMix()
    pending: list[Insn] | None = None
    pending_sym = ""
    inside = False
    caller = None
    prev_sym = None
    prev_key = None          # the block executed just before, inside a window
    prev_call = None         # (call index, key) of that block, in the first window
    for line in lines:
        if line.startswith("Trace"):
            m = _TRACE.match(line)
            if not m:
                continue
            pc = int(m.group(2), 16)
            key = (pc, m.group(3), m.group(4))
            if pending is not None:
                if pending and pending[0].address == pc:
                    mix.blocks[key] = Block(pending_sym, pending)
                pending = None
            blk = mix.blocks.get(key)
            sym = blk.symbol if blk is not None else m.group(5)
            if prev_key is not None:
                if pc != mix.blocks[prev_key].end:
                    mix.taken[prev_key] = mix.taken.get(prev_key, 0) + 1
                    if prev_call is not None:
                        mix.call_taken[prev_call] = mix.call_taken.get(prev_call, 0) + 1
                prev_key = prev_call = None
            if not inside and sym == window and prev_sym != window:
                inside, caller = True, prev_sym
                mix.windows += 1
            elif inside and sym == caller:
                inside = False
            if inside:
                if blk is None:
                    mix.unmapped += 1
                else:
                    mix.executions[key] = mix.executions.get(key, 0) + 1
                    prev_key = key
                    if mix.windows == 1:
                        if sym != window and prev_sym == window:
                            mix.callees.append(sym)
                        prev_call = (max(len(mix.callees) - 1, 0), key)
                        mix.call_executions[prev_call] = mix.call_executions.get(prev_call, 0) + 1
            prev_sym = sym
        elif line.startswith("IN:"):
            pending, pending_sym = [], line[3:].strip()
        elif pending is not None and line.startswith("0x"):
            m = _INSN.match(line.rstrip("\n"))
            if m:
                pending.append(parse(int(m.group(1), 16), m.group(2), m.group(3), m.group(4).strip()))
    return mix


def trace_elf(qemu_args: list[str], window: str, timeout_s: float = 900) -> TraceMix:
    """Run a semihosted program (qemu_args: the machine, CPU and -kernel) to its exit with the
    block log streamed through a pipe, and fold it. The program's UART output is kept."""
    with tempfile.TemporaryDirectory(prefix="ek-cycles-") as tmp:
        fifo = Path(tmp) / "log"
        os.mkfifo(fifo)
        uart = Path(tmp) / "uart.txt"
        with open(uart, "wb") as out:
            proc = subprocess.Popen([*qemu_args, "-serial", "stdio", "-d", "in_asm,exec,nochain", "-D", str(fifo)],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                with open(fifo, "r", errors="replace") as log:
                    mix = parse_log(log, window)
                proc.wait(timeout=timeout_s)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        mix.uart = uart.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"traced run exited {proc.returncode}: {mix.uart[-500:]}")
    return mix
