"""The kernels and generated code compile cleanly for Cortex-M (both variants, -Werror).

With -mcpu=cortex-m4 __ARM_FEATURE_DSP is set, so the DSP variant uses the real ACLE
intrinsics here; on cortex-m3 (no DSP) the same source must still build (emulations).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from edgekit.codegen import generate

from tests.codegen import tiny_models
from tests.codegen.cases import FIXED_CASES

RUNTIME = Path(__file__).resolve().parents[2] / "firmware" / "runtime"
GCC = shutil.which("arm-none-eabi-gcc")


@pytest.mark.parametrize("cpu,dsp", [("cortex-m4", "1"), ("cortex-m4", "0"), ("cortex-m3", "1"),
                                     ("cortex-m7", "1")])
def test_compiles_for_cortex_m(cpu, dsp, tmp_path):
    assert GCC, "arm-none-eabi-gcc is required (Debian gcc-arm-none-eabi)"
    path = tiny_models.ensure_models([FIXED_CASES[7]])[0]
    r = generate(path, tmp_path / "gen", "cnn")
    for src in r.sources:
        cmd = [GCC, f"-mcpu={cpu}", "-mthumb", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
               f"-DEK_KERNELS_DSP={dsp}", *[f"-I{i}" for i in r.include_dirs], "-c", str(src),
               "-o", str(tmp_path / (src.stem + ".o"))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    if cpu == "cortex-m4" and dsp == "1":
        # The DSP build really uses the dual-MAC instructions.
        dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(tmp_path / "conv.o"),
                              str(tmp_path / "depthwise.o")], capture_output=True, text=True).stdout
        assert "smlad" in dis and "sxtb16" in dis
