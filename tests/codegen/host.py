"""Compile generated model C + the runtime kernels with the host gcc and run a batch.

Both kernel variants are built: reference, and DSP (-DEK_KERNELS_DSP=1, whose SMLAD/SXTB16
are portable emulations on x86). ASan/UBSan catch out-of-bounds accesses and overflows.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from edgekit.codegen import runtime_include_dirs, runtime_sources
from edgekit.targets import kernel_variants


MAIN_C = r"""
#include <stdio.h>
#include "ek_model.h"
int main(int argc, char **argv)
{
    if (argc != 3) return 2;
    const ek_model_info_t *mi = ek_model_info();
    FILE *fi = fopen(argv[1], "rb"), *fo = fopen(argv[2], "wb");
    if (!fi || !fo) return 2;
    while (fread(ek_model_input(), 1, mi->input.bytes, fi) == mi->input.bytes) {
        if (ek_model_invoke() != 0) return 3;
        fwrite(ek_model_output(), 1, mi->output.bytes, fo);
    }
    fclose(fi);
    fclose(fo);
    return 0;
}
"""

INCLUDES = [f"-I{d}" for d in runtime_include_dirs()]
CFLAGS = ["-std=c99", "-O1", "-g", "-Wall", "-Werror", "-Wno-unused-function",
          "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]


def _defines(variant: str) -> list[str]:
    """'ref' or 'dsp' (host builds have no Helium) as -D flags, from the kernel-variant table."""
    name = {"ref": "reference", "dsp": "dsp"}[variant]
    return [f"-D{k}={v}" for k, v in kernel_variants.defines(name).items()]


_KERNEL_OBJECTS: dict[str, list[Path]] = {}


def kernel_objects(variant: str) -> list[Path]:
    """The runtime's kernel files compiled once per test process and variant (the slow part
    of a build)."""
    if variant not in _KERNEL_OBJECTS:
        import tempfile
        out_dir = Path(tempfile.mkdtemp(prefix=f"ek-kernels-{variant}-"))
        defines = _defines(variant)
        objs = []
        for src in runtime_sources():
            out = out_dir / f"{src.stem}.o"
            cmd = ["gcc", *CFLAGS, *defines, *INCLUDES, "-c", str(src), "-o", str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise AssertionError(f"kernel compile failed ({src.name}):\n{proc.stderr[-3000:]}")
            objs.append(out)
        _KERNEL_OBJECTS[variant] = objs
    return _KERNEL_OBJECTS[variant]


def build(gen_dir: Path, variant: str) -> Path:
    """Executable for the generated model in gen_dir with 'ref' or 'dsp' kernels."""
    main = gen_dir / "host_main.c"
    main.write_text(MAIN_C)
    exe = gen_dir / f"model_{variant}"
    defines = _defines(variant)
    cmd = ["gcc", *CFLAGS, *defines, f"-I{gen_dir}", *INCLUDES,
           str(gen_dir / "model.c"), str(gen_dir / "model_data.c"),
           *map(str, kernel_objects(variant)), str(main), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"host compile failed:\n{proc.stderr[-3000:]}")
    return exe


def run(exe: Path, x: np.ndarray, out_dtype, out_shape) -> np.ndarray:
    fin = exe.with_suffix(".in")
    fout = exe.with_suffix(".out")
    np.ascontiguousarray(x).tofile(fin)
    proc = subprocess.run([str(exe), str(fin), str(fout)], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"{exe.name} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    y = np.fromfile(fout, dtype=out_dtype)
    return y.reshape(len(x), *out_shape)
