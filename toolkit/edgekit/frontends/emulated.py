"""Run the C frontend for an Arm target under QEMU on given raw inputs.

Builds firmware/frontends/test/fe_selftest.c with the generated frontend for the target
(edgekit.firmware.build_elf, app="semihost-test"), runs it to exit, and returns each
output tensor with the instructions it took: the frontend's cost on its own, counted by the
emulator (`-icount`: instructions, not cycles).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from edgekit import resources
from edgekit.frontends.codegen import InputQuant, generate
from edgekit.frontends.raw import raw_bytes
from edgekit.frontends.variants import FrontendVariant


@dataclass
class EmulatedFrontendRun:
    target: str
    variant: str
    spec_hash: str
    outputs: np.ndarray               # int8 [N, *output_shape]
    instructions: list[int]           # per input, counted by the emulator
    unit: str                         # "instructions (emulated)"
    static_ram_bytes: int             # frontend scratch in .bss, as the frontend reports it
    raw_capacity: int
    flash_bytes: int                  # of the whole test image (board + frontend + inputs)
    how: str = "counted by the emulator (QEMU -icount): instructions, not cycles"


def _inputs_source(blobs: Sequence[bytes]) -> str:
    parts = ["#include <stdint.h>\n"]
    for i, b in enumerate(blobs):
        body = ",".join(str(x) for x in b) or "0"
        parts.append(f"static const uint8_t raw{i}[] __attribute__((aligned(4))) = {{{body}}};\n")
    parts.append(f"const uint32_t fe_test_count = {len(blobs)};\n")
    parts.append("const uint8_t *const fe_test_raw[] = {" + ",".join(f"raw{i}" for i in range(len(blobs))) + "};\n")
    parts.append("const uint32_t fe_test_raw_bytes[] = {" + ",".join(str(len(b)) for b in blobs) + "};\n")
    return "".join(parts)


def run_emulated(pre_spec, variant: FrontendVariant, quant: InputQuant, raws: Sequence[np.ndarray],
                 target, out_dir: Path, sensor: Optional[tuple[int, int]] = None,
                 timeout_s: float = 120) -> EmulatedFrontendRun:
    from edgekit.devices.kinds.qemu import run_to_exit
    from edgekit.firmware import build_elf

    out_dir = Path(out_dir)
    spec_obj = pre_spec
    pre = getattr(pre_spec, "preprocessing", pre_spec)
    gen = generate(spec_obj, variant, quant, out_dir / "frontend", sensor=sensor)
    inputs = out_dir / "fe_selftest_inputs.c"
    inputs.write_text(_inputs_source([raw_bytes(pre, r) for r in raws]))
    n_out = int(np.prod(pre.output_shape))
    main = resources.firmware_dir() / "frontends" / "test" / "fe_selftest.c"
    img = build_elf(target, [*gen.sources, main, inputs], gen.include_dirs,
                    {"EK_FE_TEST_OUTPUT_BYTES": str(n_out)}, out_dir, app="semihost-test",
                    name="frontend_selftest")
    res = run_to_exit(img.elf, target, timeout_s=timeout_s)
    if res.exit_code != 0:
        raise RuntimeError(f"frontend self-test exited with {res.exit_code}: {res.output[-500:]}")
    outs, counts, info = {}, {}, {}
    for line in res.output.splitlines():
        if line.startswith("FE-OUT "):
            _, i, hx = line.split()
            outs[int(i)] = np.frombuffer(bytes.fromhex(hx), dtype=np.int8).reshape(pre.output_shape)
        elif line.startswith("FE-COUNT "):
            _, i, c = line.split()
            counts[int(i)] = int(c)
        elif line.startswith("FE-INFO "):
            head, _, unit = line.partition(" unit=")
            info = dict(kv.split("=", 1) for kv in head.split()[1:])
            info["unit"] = unit.strip()
    if len(outs) != len(raws) or len(counts) != len(raws):
        raise RuntimeError(f"frontend self-test printed {len(outs)} of {len(raws)} outputs: {res.output[-500:]}")
    return EmulatedFrontendRun(
        target=target.name, variant=info.get("variant", "?"), spec_hash=info.get("hash", "?"),
        outputs=np.stack([outs[i] for i in range(len(raws))]), instructions=[counts[i] for i in range(len(raws))],
        unit=info.get("unit", ""), static_ram_bytes=int(info.get("ram", 0)), raw_capacity=int(info.get("raw", 0)),
        flash_bytes=img.flash_bytes)
