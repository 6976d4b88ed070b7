"""Cycles from an executed instruction mix and one core's timing table (docs/ARCHITECTURE.md, cycles).

Each translated block is priced once from its instructions (the pipelining and stall rules of
the table apply between neighbours inside a block), with its final branch priced taken or not
taken as often as the trace saw it; flash wait states are added per the profile's part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from edgekit.cycles.isa import Insn
from edgekit.cycles.trace import Block, TraceMix
from edgekit.yamlio import read_yaml_mapping

UNIT = "cycles (estimated from the executed instruction mix)"
TIMINGS = Path(__file__).parent / "timings"
FLASH_LINE_BYTES = 16   # a 128-bit flash line (STM32 ART, nRF52 cache line): one wait-state fetch
_BRANCHES = ("branch", "indirect_branch", "table_branch", "loop_end")


@dataclass(frozen=True)
class Timing:
    core: str
    source: str
    cycles: dict
    dual_issue: bool = False

    def __getitem__(self, kind: str) -> float:
        return self.cycles.get(kind, 1)


def available_cores() -> list[str]:
    return sorted(p.stem for p in TIMINGS.glob("*.yaml"))


@lru_cache(maxsize=None)
def timing(core: str) -> Timing | None:
    """The timing table of a core (timings/<core>.yaml, following `inherit:`), None if none."""
    path = TIMINGS / f"{core}.yaml"
    if not path.is_file():
        return None
    data = read_yaml_mapping(path)
    cycles: dict = {}
    dual = False
    if data.get("inherit"):
        parent = timing(data["inherit"])
        cycles.update(parent.cycles)
        dual = parent.dual_issue
    cycles.update(data.get("cycles") or {})
    return Timing(core, data["source"], cycles, bool(data.get("dual_issue", dual)))


def _reads(ins: Insn, reg: str | None) -> bool:
    return reg is not None and (reg in ins.sources or reg in ins.address_regs)


def _pairs(a: Insn, b: Insn, cost_a: float, cost_b: float) -> bool:
    """Dual issue of b beside a (the Cortex-M7 rule stated in timings/cortex-m7.yaml)."""
    if cost_a > 1 or cost_b > 1 or a.kind in _BRANCHES or b.kind in _BRANCHES or a.writes_pc or b.writes_pc:
        return False
    if a.memory and b.memory:
        return False
    if a.kind in ("mul", "fp_mac", "div") and b.kind in ("mul", "fp_mac", "div"):
        return False
    return not _reads(b, a.dest)


def price_block(blk: Block, t: Timing) -> tuple[float, float, dict]:
    """(cycles with the final branch not taken, extra cycles when it is taken, cycles per kind)."""
    total = 0.0
    by_kind: dict[str, float] = {}
    prev: Insn | None = None
    prev_cost = 0.0
    prev_paired = False
    extra_taken = 0.0
    last = len(blk.insns) - 1
    for i, ins in enumerate(blk.insns):
        k = ins.kind
        if k == "load":
            c = t["load"]
            if prev is not None and prev.kind == "load" and not _reads(ins, prev.dest):
                c = t["load_after_load"]
            if ins.writes_pc:
                c += t["indirect_branch"] - 1
        elif k in ("store", "store_register_offset"):
            c = t[k]
            if prev is not None and prev.kind == "load" and not _reads(ins, prev.dest):
                c = min(c, t["load_after_load"])
        elif k in ("multiple", "fp_multiple"):
            c = t["multiple_base"] + t["multiple_per_register"] * ins.registers
            if ins.writes_pc:
                c += t["indirect_branch"] - 1
        elif k == "branch":
            c = t["branch_not_taken"]
            if i == last:
                always = ins.mnemonic.split(".")[0] in ("b", "bl")
                if always:
                    c = t["branch_taken"]
                else:
                    extra_taken = t["branch_taken"] - t["branch_not_taken"]
        elif k in ("mve", "mve_memory"):
            c = t["mve"]
            if prev is not None and prev.kind in ("mve", "mve_memory") and prev.kind != k:
                c = t["mve_overlapped"]
        else:
            c = t[k]
        if ins.memory and prev is not None and prev.kind in ("alu", "mul") and prev.dest in ins.address_regs:
            c += t["address_stall"]
        if t.dual_issue and prev is not None and not prev_paired and _pairs(prev, ins, prev_cost, c):
            c, prev_paired = 0.0, True
        else:
            prev_paired = False
        total += c
        by_kind[k] = by_kind.get(k, 0.0) + c
        prev, prev_cost = ins, c
    return total, extra_taken, by_kind


@dataclass
class CycleEstimate:
    """Cycles per call of the window function, estimated from the executed instruction mix."""
    core: str
    cycles: float
    instructions: float              # per call, from the trace (QEMU's count of the same blocks)
    flash_wait_cycles: float
    by_kind: dict = field(default_factory=dict)     # kind -> {"instructions", "cycles"} per call
    by_symbol: dict = field(default_factory=dict)   # function -> {"instructions", "cycles"} per call
    # the window's direct calls in order (one per kernel call of an inference), first window only,
    # flash wait states not included: [{"callee", "instructions", "cycles"}]
    by_call: list = field(default_factory=list)
    calls: int = 1
    source: str = ""
    assumptions: list = field(default_factory=list)
    unit: str = UNIT

    @property
    def cycles_per_instruction(self) -> float:
        return self.cycles / self.instructions if self.instructions else 0.0

    def to_json(self) -> dict:
        return {"value": round(self.cycles), "unit": self.unit, "core": self.core,
                "instructions_traced": round(self.instructions), "cycles_per_instruction": round(self.cycles_per_instruction, 4),
                "flash_wait_cycles": round(self.flash_wait_cycles), "calls_traced": self.calls,
                "by_kind": self.by_kind, "by_symbol": self.by_symbol,
                "timings": self.source, "assumptions": self.assumptions}


def _call_executions(mix: TraceMix, price):
    """(call index, block key, executions, cycles) of every block the window's direct calls ran
    (first window); price(key) is the block's (cycles not taken, extra when taken)."""
    for (i, key), n in mix.call_executions.items():
        base, extra = price(key)
        yield i, key, n, base * n + extra * mix.call_taken.get((i, key), 0)


def estimate(mix: TraceMix, core: str, flash_wait_states: int = 0, flash_accelerator: bool = True) -> CycleEstimate:
    """Price a TraceMix with the core's table and the part's flash wait states."""
    t = timing(core)
    if t is None:
        raise ValueError(f"no timing table for {core} (have {', '.join(available_cores())})")
    if mix.windows == 0:
        raise ValueError("the traced run never entered the window function")
    total = 0.0
    ins_total = 0
    taken_total = 0
    kinds: dict[str, list] = {}
    syms: dict[str, list] = {}
    lines: set[int] = set()
    prices: dict = {}
    for key, n in mix.executions.items():
        blk = mix.blocks[key]
        base, extra, by_kind = price_block(blk, t)
        prices[key] = (base, extra)
        taken = mix.taken.get(key, 0)
        cyc = base * n + extra * taken
        if blk.insns[-1].kind in _BRANCHES:
            taken_total += taken
        total += cyc
        ins_total += len(blk.insns) * n
        s = syms.setdefault(blk.symbol, [0, 0.0])
        s[0] += len(blk.insns) * n
        s[1] += cyc
        for ins in blk.insns:
            kinds.setdefault(ins.kind, [0, 0.0])[0] += n
            lines.add(ins.address // FLASH_LINE_BYTES)
        for k, c in by_kind.items():
            kinds[k][1] += c * n
        if extra and taken:
            kinds[blk.insns[-1].kind][1] += extra * taken
    assumptions = [f"timings: {t.source}"]
    if flash_accelerator:
        flash = flash_wait_states * len(lines) * mix.windows
        assumptions.append(f"flash: {flash_wait_states} wait states charged once per {FLASH_LINE_BYTES}-byte code line "
                           "per call (cold misses); hot loops are taken to hit the part's instruction cache/accelerator")
    else:
        flash = flash_wait_states * taken_total
        assumptions.append(f"flash: {flash_wait_states} wait states on every taken branch's refill (no cache; "
                           "sequential fetch covered by the prefetch buffer)")
    if flash_wait_states:
        assumptions.append("data reads from flash (weights, constants) are not charged wait states: "
                           "the trace carries no load addresses")
    by_call = [{"callee": sym, "instructions": 0, "cycles": 0.0} for sym in mix.callees] or \
        [{"callee": "", "instructions": 0, "cycles": 0.0}]
    for i, key, n, cyc in _call_executions(mix, prices.__getitem__):
        by_call[i]["instructions"] += len(mix.blocks[key].insns) * n
        by_call[i]["cycles"] += cyc
    for c in by_call:
        c["cycles"] = round(c["cycles"])
    w = mix.windows
    return CycleEstimate(
        core=core, cycles=(total + flash) / w, instructions=ins_total / w, flash_wait_cycles=flash / w,
        by_kind={k: {"instructions": round(v[0] / w), "cycles": round(v[1] / w)} for k, v in sorted(kinds.items(), key=lambda kv: -kv[1][1])},
        by_symbol={k: {"instructions": round(v[0] / w), "cycles": round(v[1] / w)} for k, v in sorted(syms.items(), key=lambda kv: -kv[1][1])},
        by_call=by_call if mix.call_executions else [], calls=w, source=t.source, assumptions=assumptions)


@dataclass(frozen=True)
class BlockCost:
    """One translated block's share of a call: its executions and estimated cycles (flash wait
    states not included), with its instructions as QEMU disassembled them."""
    symbol: str
    address: int
    executions: int
    cycles: float
    instructions: tuple

    @property
    def cycles_each(self) -> float:
        return self.cycles / self.executions if self.executions else 0.0


def call_blocks(mix: TraceMix, core: str, call: int) -> list[BlockCost]:
    """The blocks executed in the window function's direct call number `call` (first window,
    as CycleEstimate.by_call), costliest first: where a kernel call's estimated cycles go, block
    by block (benchmarks/profile_call.py). Their cycles sum to that call's by_call entry."""
    t = timing(core)
    if t is None:
        raise ValueError(f"no timing table for {core} (have {', '.join(available_cores())})")
    if not 0 <= call < max(len(mix.callees), 1):
        raise ValueError(f"call {call} out of range: the traced inference made {len(mix.callees)} calls")
    out = []
    for i, key, n, cyc in _call_executions(mix, lambda k: price_block(mix.blocks[k], t)[:2]):
        if i == call:
            blk = mix.blocks[key]
            out.append(BlockCost(blk.symbol, blk.insns[0].address, n, cyc,
                                 tuple(f"{x.mnemonic} {x.operands}".strip() for x in blk.insns)))
    return sorted(out, key=lambda b: -b.cycles)
