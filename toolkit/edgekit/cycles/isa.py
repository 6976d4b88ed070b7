"""Thumb-2 / Armv8.1-M instruction classes for the cycle estimate (docs/ARCHITECTURE.md, cycles).

An instruction comes as QEMU's disassembly of a translated block (`-d in_asm`: address, the
encoding's halfwords, mnemonic, operands). It is sorted into the classes the timing tables
(timings/*.yaml) price: alu, mul, div, load, store, load_store_double, multiple, branch,
indirect_branch, table_branch, it, barrier, fp_*, mve*, loop_*. Everything not recognised is
alu (1 cycle on every core here), which is what most of the remaining Thumb-2 instructions cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

_CC = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")
_LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrexb", "ldrexh", "ldrt", "ldrbt", "ldrht",
          "ldrsbt", "ldrsht", "lda", "ldab", "ldah", "pld", "pli"}
_STORES = {"str", "strb", "strh", "strex", "strexb", "strexh", "strt", "strbt", "strht", "stl", "stlb", "stlh"}
_DOUBLE = {"ldrd", "strd", "ldrexd", "strexd"}
_MULTIPLE = {"ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "stm", "stmia", "stmea", "stmdb", "stmfd", "push", "pop"}
_BRANCH = {"b", "bl", "cbz", "cbnz"}
_INDIRECT = {"bx", "blx", "bxns", "blxns"}
_TABLE = {"tbb", "tbh"}
_DIV = {"sdiv", "udiv"}
_BARRIER = {"dmb", "dsb", "isb"}
_LOOP_END = {"le", "letp", "lctp"}
_LOOP_START = {"dls", "wls", "dlstp", "wlstp"}
_MUL = re.compile(r"^(mul|mla|mls|umull|umlal|umaal|smull|smlal\w*|smla\w+|smul\w+|smua\w*|smus\w*|"
                  r"smls\w+|smml\w+|smmu\w+)$")
_IT = re.compile(r"^it[te]{0,3}$")
_REG = re.compile(r"\b(r1[0-5]|r[0-9]|sb|sl|fp|ip|sp|lr|pc)\b")
_QREG = re.compile(r"\bq[0-7]\b")
_NO_DEST = {"cmp", "cmn", "tst", "teq", "nop", "it"}
_UNARY = {"mov", "mvn", "movw", "movt", "sxtb", "sxth", "uxtb", "uxth", "sxtb16", "uxtb16", "rev", "rev16",
          "revsh", "clz", "rbit", "neg", "adr", "ssat", "usat", "ssat16", "usat16", "ubfx", "sbfx"}


@dataclass(frozen=True)
class Insn:
    address: int
    size: int            # bytes: 2 or 4
    mnemonic: str        # as disassembled, e.g. "ldrsb.w", "smlad", "bne"
    operands: str
    kind: str            # the class the timing tables price
    registers: int = 0   # for LDM/STM/PUSH/POP/VLDM/VPUSH: words moved
    writes_pc: bool = False
    dest: Optional[str] = None       # core register written (for the pairing/stall rules)
    address_regs: tuple = ()         # core registers inside [...] (the address)
    sources: tuple = ()              # core registers read

    @property
    def memory(self) -> bool:
        return self.kind in ("load", "store", "store_register_offset", "load_store_double", "multiple",
                             "fp_load", "fp_store", "fp_multiple")


def _base(mnemonic: str) -> str:
    m = mnemonic.lower().split(".")[0]
    return m


def _strip(m: str, known) -> Optional[str]:
    """The mnemonic without a condition code (IT blocks) or an S suffix, when that is known."""
    if m in known:
        return m
    for cc in _CC:
        if m.endswith(cc) and m[:-2] in known:
            return m[:-2]
    if m.endswith("s") and m[:-1] in known:
        return m[:-1]
    return None


def _reglist_words(operands: str) -> int:
    inner = operands[operands.find("{") + 1: operands.find("}")] if "{" in operands else ""
    n = 0
    for part in (p.strip() for p in inner.split(",") if p.strip()):
        if "-" in part:
            a, b = part.split("-", 1)
            lo, hi = int(re.sub(r"\D", "", a) or 0), int(re.sub(r"\D", "", b) or 0)
            k = hi - lo + 1
        else:
            k = 1
        n += 2 * k if part.startswith("d") else k
    return max(n, 1)


@lru_cache(maxsize=None)
def classify(mnemonic: str, operands: str) -> tuple:
    """(kind, registers, writes_pc) for one disassembled instruction."""
    m = _base(mnemonic)
    ops = operands.lower()
    if m.startswith("v") and (_QREG.search(ops) or m in ("vctp", "vpst", "vpt", "vpsel", "vpnot")):
        if m in ("vctp", "vpst", "vpt", "vpnot"):
            return "mve_predicate", 0, False
        return ("mve_memory" if m.startswith(("vldr", "vstr", "vld2", "vld4", "vst2", "vst4")) else "mve"), 0, False
    if m.startswith("v"):
        if m in ("vldr",):
            return "fp_load", 0, False
        if m in ("vstr",):
            return "fp_store", 0, False
        if m.startswith(("vldm", "vstm", "vpush", "vpop")):
            return "fp_multiple", _reglist_words(ops), False
        if m in ("vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"):
            return "fp_mac", 0, False
        if m in ("vdiv", "vsqrt"):
            return "fp_div", 0, False
        if m in ("vmov", "vmrs", "vmsr"):
            return "fp_move", 0, False
        return "fp_alu", 0, False
    if _IT.match(m):
        return "it", 0, False
    if m in _LOOP_END:
        return "loop_end", 0, False
    if m in _LOOP_START:
        return "loop_start", 0, False
    b = _strip(m, _MULTIPLE)
    if b:
        return "multiple", _reglist_words(ops), "pc" in _REG.findall(ops[ops.find("{"):]) and b.startswith(("ldm", "pop"))
    b = _strip(m, _DOUBLE)
    if b:
        return "load_store_double", 0, False
    b = _strip(m, _LOADS)
    if b:
        first = _REG.findall(ops)[:1]
        return "load", 0, first == ["pc"]
    b = _strip(m, _STORES)
    if b:
        inside = ops[ops.find("["):] if "[" in ops else ""
        regs = _REG.findall(inside)
        return ("store_register_offset" if len(regs) > 1 and "#" not in inside else "store"), 0, False
    b = _strip(m, _TABLE)
    if b:
        return "table_branch", 0, True
    b = _strip(m, _INDIRECT)
    if b:
        return "indirect_branch", 0, True
    b = _strip(m, _BRANCH)
    if b:
        return "branch", 0, True
    if m in _DIV:
        return "div", 0, False
    if _MUL.match(m) or _MUL.match(m[:-1] if m.endswith("s") else m):
        return "mul", 0, False
    if m in _BARRIER:
        return "barrier", 0, m == "isb"
    regs = _REG.findall(ops)
    if regs[:1] == ["pc"] and m.startswith(("mov", "add")):
        return "indirect_branch", 0, True
    return "alu", 0, False


def parse(address: int, halfwords: str, mnemonic: str, operands: str) -> Insn:
    kind, nregs, writes_pc = classify(mnemonic, operands)
    ops = operands.lower()
    regs = _REG.findall(ops)
    addr_regs = tuple(_REG.findall(ops[ops.find("["):ops.find("]") + 1])) if "[" in ops else ()
    base = _base(mnemonic)
    writes = kind in ("alu", "mul", "div", "load") and regs and _strip(base, _NO_DEST) is None
    dest = regs[0] if writes else None
    sources = tuple(regs[1:] if writes else regs)
    if writes and kind in ("alu", "mul") and len(regs) <= 2 and _strip(base, _UNARY) is None:
        sources = tuple(regs)   # the two-operand form ("adds r0, #1", "adds r0, r1") reads its destination
    size = 2 * len(halfwords.split())
    return Insn(address, size, mnemonic, operands, kind, nregs, writes_pc, dest, addr_regs, sources)
