"""Flash and RAM measured from a linked ELF (pyelftools) and its GNU ld map file.

flash = the bytes the loader writes to non-volatile memory (PT_LOAD file sizes: vectors,
text, rodata, .data's initial values); RAM = .data + .bss + arena + stack. The arena is the
.ek_arena section, or, when the generated code leaves it in .bss, the symbol named by
ARENA_SYMBOLS (then it is taken out of the bss figure so nothing is counted twice).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from edgekit.errors import UserError

ARENA_SYMBOLS = ("ek_arena", "ek_model_arena", "g_ek_arena", "arena")
_TEXT = (".vectors", ".text", ".ARM.exidx", ".ARM.extab", ".init_array", ".fini_array", ".preinit_array")


@dataclass(frozen=True)
class SectionSizes:
    text: int
    rodata: int
    data: int
    bss: int
    stack: int
    arena: int
    flash_bytes: int
    ram_bytes: int
    by_object: dict[str, dict[str, int]] = field(default_factory=dict)  # from the map file

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("text", "rodata", "data", "bss", "stack", "arena",
                                              "flash_bytes", "ram_bytes")}


def measure_elf(elf_path: Path, map_path: Path | None = None) -> SectionSizes:
    elf_path = Path(elf_path)
    try:
        f = open(elf_path, "rb")
    except OSError as exc:
        raise UserError(f"{elf_path}: cannot read firmware ELF: {exc.strerror}") from None
    with f:
        try:
            elf = ELFFile(f)
            sections = {s.name: s for s in elf.iter_sections()}
        except Exception as exc:  # pyelftools raises several types for a broken file
            raise UserError(f"{elf_path}: not a valid ELF file ({exc}); rebuild it") from None
        if elf["e_machine"] != "EM_ARM":
            raise UserError(f"{elf_path}: ELF for {elf['e_machine']}, not ARM; build it with edgekit build")

        def size_of(name: str) -> int:
            s = sections.get(name)
            return int(s["sh_size"]) if s is not None and s["sh_flags"] & SH_FLAGS.SHF_ALLOC else 0

        text = sum(size_of(n) for n in _TEXT)
        rodata = size_of(".rodata")
        data = size_of(".data")
        bss = size_of(".bss")
        stack = size_of(".stack")
        arena = size_of(".ek_arena")
        if arena == 0:
            arena_in_bss = _arena_symbol_size(elf, sections.get(".bss"))
            arena, bss = arena_in_bss, bss - arena_in_bss
        flash = sum(int(seg["p_filesz"]) for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD")
    by_object = parse_map(map_path) if map_path is not None and Path(map_path).is_file() else {}
    return SectionSizes(
        text=text, rodata=rodata, data=data, bss=bss, stack=stack, arena=arena,
        flash_bytes=flash, ram_bytes=data + bss + arena + stack, by_object=by_object,
    )


def _arena_symbol_size(elf: ELFFile, bss) -> int:
    if bss is None:
        return 0
    lo, hi = int(bss["sh_addr"]), int(bss["sh_addr"]) + int(bss["sh_size"])
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        return 0
    for sym in symtab.iter_symbols():
        if sym.name in ARENA_SYMBOLS and sym["st_info"]["type"] == "STT_OBJECT":
            if lo <= int(sym["st_value"]) < hi:
                return int(sym["st_size"])
    return 0


_MAP_LINE = re.compile(r"^\s*(\.\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.(?:o|obj|a\(.+\)))\s*$")


def parse_map(map_path: Path) -> dict[str, dict[str, int]]:
    """Bytes per input object and output category (text/rodata/data/bss) from a GNU ld map.

    Input sections are listed as `.text.name 0xADDR 0xSIZE file.o`, the name sometimes on
    its own line; only the part after "Linker script and memory map" is used."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    text = Path(map_path).read_text(errors="replace")
    start = text.find("Linker script and memory map")
    if start < 0:
        return {}
    pending: str | None = None
    for line in text[start:].splitlines():
        m = _MAP_LINE.match(line)
        if m:
            name = m.group(1) or pending
            pending = None
            size = int(m.group(3), 16)
            if not name or size == 0 or int(m.group(2), 16) == 0:
                continue
            cat = _category(name)
            if cat:
                obj = Path(m.group(4).split("(")[-1].rstrip(")")).name
                out[obj][cat] += size
            continue
        stripped = line.strip()
        pending = stripped if stripped.startswith(".") and " " not in stripped else None
    return {k: dict(v) for k, v in out.items()}


def _category(section: str) -> str | None:
    for cat, prefixes in (("text", (".text", ".vectors")), ("rodata", (".rodata",)),
                          ("data", (".data",)), ("bss", (".bss", "COMMON", ".ek_arena"))):
        if section.startswith(prefixes):
            return cat
    return None
