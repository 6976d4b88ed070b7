"""Run generated model code on an emulated target over a batch of inputs (semihosted).

For kernel tests and benchmarks, not for users' evaluations (that is the device protocol):
the inputs are compiled into the test program, which runs each one, prints the output bytes
and the emulated instruction count of ek_model_invoke() on the UART and exits. QEMU's
-icount makes the counts exact and repeatable: they are "instructions (emulated)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit.codegen import CodegenResult

Kernels = str   # a name in targets/kernel_variants.py
UNIT = "instructions (emulated)"

_MAIN_C = r"""
#include <stdio.h>
#include <stdint.h>
#include "ek_board.h"
#include "ek_model.h"
extern const uint8_t ek_selftest_inputs[];
extern const uint32_t ek_selftest_count;
#ifdef EK_PROFILE_HOOK
static uint64_t ek_stamps[EK_SELFTEST_MAX_OPS + 1];
void ek_selftest_prof(uint32_t i) { if (i <= EK_SELFTEST_MAX_OPS) ek_stamps[i] = ek_timer_now(); }
#endif
int main(void)
{
    const ek_model_info_t *mi = ek_model_info();
    for (uint32_t i = 0; i < ek_selftest_count; ++i) {
        const uint8_t *src = ek_selftest_inputs + (size_t)i * mi->input.bytes;
        uint8_t *dst = (uint8_t *)ek_model_input();
        for (size_t k = 0; k < mi->input.bytes; ++k) dst[k] = src[k];
        uint64_t t0 = ek_timer_now();
        int rc = ek_model_invoke();
        uint64_t t1 = ek_timer_now();
        if (rc != 0) { printf("ERR %lu %d\n", (unsigned long)i, rc); return 3; }
        printf("INS %lu %lu\n", (unsigned long)i, (unsigned long)ek_timer_elapsed(t0, t1));
#ifdef EK_PROFILE_HOOK
        if (i == 0) {
            printf("OPS");
            for (uint32_t k = 0; k < mi->n_ops && k < EK_SELFTEST_MAX_OPS; ++k)
                printf(" %lu", (unsigned long)ek_timer_elapsed(ek_stamps[k], ek_stamps[k + 1]));
            printf("\n");
        }
#endif
        const uint8_t *out = (const uint8_t *)ek_model_output();
        printf("OUT %lu ", (unsigned long)i);
        for (size_t k = 0; k < mi->output.bytes; ++k) printf("%02x", out[k]);
        printf("\n");
    }
    printf("UNIT %s\n", ek_timer_unit());
    return 0;
}
"""


@dataclass
class SelftestRun:
    outputs: np.ndarray            # [N, *output_shape[1:]] in the model's output dtype
    instructions: list[int]        # per inference, emulated
    unit: str
    flash_bytes: int
    ram_bytes: int
    op_instructions: Optional[list[int]] = None   # per op, first sample, when profiled


def run_batch(gen: CodegenResult, target, x: np.ndarray, kernels: Kernels, out_dir: Path,
              out_dtype, timeout_s: float = 600, profile: bool = False) -> SelftestRun:
    """Build a semihost test ELF with these inputs and the chosen kernels; run it on QEMU.
    profile=True also counts each op of the first inference (the timer reads add a few
    instructions to the per-inference counts)."""
    from edgekit.devices.kinds.qemu import run_to_exit

    x = np.ascontiguousarray(x)
    img = build_batch_elf(gen, target, x, kernels, out_dir, profile)
    res = run_to_exit(img.elf, target, timeout_s=timeout_s)
    return _parse_run(gen, x, img, res, target, out_dtype)


def build_batch_elf(gen: CodegenResult, target, x: np.ndarray, kernels: Kernels, out_dir: Path, profile: bool = False):
    """The semihost test ELF of run_batch (inputs compiled in), built but not run: the cycle
    estimate (edgekit.cycles) traces it."""
    from edgekit.firmware import build_elf, kernel_defines

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = np.ascontiguousarray(x)
    (out_dir / "selftest_main.c").write_text(_MAIN_C)
    raw = x.tobytes()
    lines = [", ".join(str(b) for b in raw[i:i + 32]) for i in range(0, len(raw), 32)]
    (out_dir / "selftest_inputs.c").write_text(
        "#include <stdint.h>\n"
        f"const uint32_t ek_selftest_count = {len(x)}u;\n"
        f"const uint8_t ek_selftest_inputs[{max(len(raw), 1)}] __attribute__((aligned(4))) = {{\n"
        + ",\n".join(lines) + "\n};\n")
    defines = kernel_defines(kernels)
    if profile:
        defines.update({"EK_PROFILE_HOOK": "ek_selftest_prof", "EK_SELFTEST_MAX_OPS": "512"})
    return build_elf(target, [*gen.sources, out_dir / "selftest_main.c", out_dir / "selftest_inputs.c"],
                     gen.include_dirs, defines, out_dir, app="semihost-test", name=f"selftest_{kernels}")


def _parse_run(gen: CodegenResult, x: np.ndarray, img, res, target, out_dtype) -> SelftestRun:
    if res.exit_code != 0:
        raise RuntimeError(f"selftest on {target.name} exited {res.exit_code}: "
                           f"{res.output[-2000:]} {res.emulator_log[-1000:]}")
    outs: dict[int, bytes] = {}
    ins: dict[int, int] = {}
    unit: Optional[str] = None
    ops: Optional[list[int]] = None
    for line in res.output.splitlines():
        if line.startswith("OPS"):
            ops = [int(v) for v in line.split()[1:]]
            continue
        m = re.match(r"OUT (\d+) ([0-9a-f]*)$", line.strip())
        if m:
            outs[int(m.group(1))] = bytes.fromhex(m.group(2))
            continue
        m = re.match(r"INS (\d+) (\d+)$", line.strip())
        if m:
            ins[int(m.group(1))] = int(m.group(2))
            continue
        if line.startswith("UNIT "):
            unit = line[5:].strip()
    if len(outs) != len(x) or len(ins) != len(x):
        raise RuntimeError(f"selftest printed {len(outs)} outputs for {len(x)} inputs")
    y = np.stack([np.frombuffer(outs[i], dtype=out_dtype) for i in range(len(x))])
    return SelftestRun(y.reshape(len(x), *gen.output_shape[1:]), [ins[i] for i in range(len(x))],
                       unit or UNIT, img.flash_bytes, img.ram_bytes, ops)


_PROBE = r"""
import sys, numpy as np
from tflite_micro.python.tflite_micro import runtime
model = open(sys.argv[1], "rb").read()
it = runtime.Interpreter.from_bytes(model, arena_size=int(sys.argv[2]))
d = it.get_input_details(0)
it.set_input(np.zeros(tuple(int(s) for s in d["shape"]), dtype=d["dtype"]), 0)
it.invoke()
print("fits")
"""


def tflm_arena_search(tflite_path: Path, hi: int = 4 << 20, timeout_s: float = 120) -> int:
    """Smallest arena (bytes, to 16) with which the tflite-micro interpreter allocates and runs
    the model: measured by bisection, each probe in its own process, because TFLM can crash
    (not just fail) when the arena is too small."""
    import subprocess
    import sys

    def fits(n: int) -> bool:
        try:
            p = subprocess.run([sys.executable, "-c", _PROBE, str(tflite_path), str(n)],
                               capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return p.returncode == 0 and "fits" in p.stdout

    if not fits(hi):
        raise RuntimeError(f"{tflite_path}: tflite-micro does not run even with {hi} bytes")
    lo = 0
    while hi - lo > 16:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi
