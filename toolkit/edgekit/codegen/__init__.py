"""Ahead-of-time code generation: int8 .tflite -> C implementing firmware/runtime/include/ek_model.h.

    result = generate(tflite_path, out_dir, model_name)

parses the .tflite without TensorFlow (codegen.tflite_reader), validates every index,
shape, quantization parameter and option (a bad file is a UserError, never a traceback or
out-of-bounds C), plans activation memory statically (codegen.planner) and writes

    out_dir/model.c        schedule of kernel calls, static arena, ek_model.h functions
    out_dir/model_data.c   weights, biases and per-channel multipliers/shifts as const (flash)
    out_dir/model_data.h   their declarations

Files are written to temporaries and renamed, so an interrupted run leaves no half file.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit import resources
from edgekit.codegen import lower as _lower
from edgekit.codegen.planner import Buffer, check_plan, plan
from edgekit.codegen.tflite_reader import read_tflite
from edgekit.errors import UserError
from edgekit.fileio import write_atomic



@dataclass
class OpInfo:
    index: int
    op: str
    macs: int
    output_shape: list[int]
    weights_bytes: int
    activation_bytes: int   # bytes read from and written to activation memory


@dataclass
class CodegenResult:
    sources: list[Path]
    include_dirs: list[Path]
    arena_bytes: int          # planned peak activation RAM (incl. kernel scratch)
    weights_bytes: int        # const data in flash (weights, biases, multipliers)
    ops: list[OpInfo]
    model_hash: str
    input_shape: list[int] = field(default_factory=list)
    input_type: str = "int8"
    input_scale: float = 0.0
    input_zero_point: int = 0
    output_shape: list[int] = field(default_factory=list)
    output_type: str = "int8"
    output_scale: float = 0.0
    output_zero_point: int = 0

    @property
    def total_macs(self) -> int:
        return sum(o.macs for o in self.ops)

    def to_json(self) -> dict:
        d = asdict(self)
        d["sources"] = [str(p) for p in self.sources]
        d["include_dirs"] = [str(p) for p in self.include_dirs]
        d["total_macs"] = self.total_macs
        d["arena_bytes_how"] = "planned (static, liveness-based packing)"
        return d


def runtime_dir() -> Path:
    return resources.firmware_dir() / "runtime"


def kernels_dir() -> Path:
    """firmware/runtime/src/kernels/: one <family>.c per op family with its <family>.h."""
    return runtime_dir() / "src" / "kernels"


def runtime_sources() -> list[Path]:
    """The runtime's kernel files (every .c in kernels_dir(), so a new family needs no list);
    the linker's --gc-sections drops the kernels a model does not call."""
    return sorted(kernels_dir().glob("*.c"))


def runtime_include_dirs() -> list[Path]:
    """Where the generated code finds the runtime's headers: ek_model.h and the shared ones
    (include/), each kernel family's header (src/kernels/)."""
    return [runtime_dir() / "include", kernels_dir()]


def generate(tflite_path: Path, out_dir: Path, model_name: str,
             report_dir: Optional[Path] = None) -> CodegenResult:
    """Generate C for the model; with report_dir (the stage dir), also record report.json's
    "codegen" section (planned arena, weights, per-op MACs)."""
    tflite_path = Path(tflite_path)
    out_dir = Path(out_dir)
    graph = read_tflite(tflite_path)
    model_hash = hashlib.sha256(tflite_path.read_bytes()).hexdigest()[:16]
    lowered = _lower.lower(graph, str(tflite_path))

    buffers = lowered.buffers
    arena = plan(buffers)
    check_plan(buffers)
    if arena > _lower.MAX_ARENA_BYTES:
        raise UserError(f"{tflite_path}: activations need {arena} bytes of RAM; no "
                        f"microcontroller has that, use a smaller model or input")

    files = _emit(lowered, model_name, model_hash, arena)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_atomic(out_dir / name, text)

    gin, gout = lowered.input_tensor, lowered.output_tensor
    result = CodegenResult(
        sources=[out_dir / "model.c", out_dir / "model_data.c"] + runtime_sources(),
        include_dirs=[out_dir, *runtime_include_dirs()],
        arena_bytes=arena,
        weights_bytes=lowered.const_bytes,
        ops=[OpInfo(s.index, s.op, s.macs, s.out_shape, s.weights_bytes, s.activation_bytes)
             for s in lowered.steps],
        model_hash=model_hash,
        input_shape=list(gin.shape), input_type=gin.type_name,
        input_scale=gin.quant.scale[0] if gin.quant else 0.0,
        input_zero_point=gin.quant.zero_point[0] if gin.quant else 0,
        output_shape=list(gout.shape), output_type=gout.type_name,
        output_scale=gout.quant.scale[0] if gout.quant else 0.0,
        output_zero_point=gout.quant.zero_point[0] if gout.quant else 0,
    )
    if report_dir is not None:
        from edgekit import reportstore
        reportstore.write_section(Path(report_dir), "codegen", result.to_json())
    return result


_C_TYPES = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float"}
_EK_TYPES = {"int8": "EK_TYPE_INT8", "int16": "EK_TYPE_INT16", "float32": "EK_TYPE_FLOAT32"}


def _array_text(values: np.ndarray, per_line: int = 24) -> str:
    flat = values.reshape(-1)
    if flat.dtype == np.float32:
        items = [repr(float(v)) + "f" if np.isfinite(v) else "0.0f" for v in flat]
    elif flat.dtype == np.int32:
        # INT32_MIN cannot be written as a plain literal in C.
        items = [str(int(v)) if v != -(1 << 31) else "(-2147483647 - 1)" for v in flat]
    else:
        items = [str(int(v)) for v in flat]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "    " + ",\n    ".join(lines) if lines else "    0"


def _emit(lw: "_lower.Lowered", model_name: str, model_hash: str, arena: int) -> dict[str, str]:
    data_h = ["/* Generated by edgekit.codegen: constant data of the model. Do not edit. */",
              "#ifndef EK_MODEL_DATA_H", "#define EK_MODEL_DATA_H", "#include <stdint.h>", ""]
    data_c = ["/* Generated by edgekit.codegen from a .tflite: weights in flash. Do not edit. */",
              '#include "model_data.h"', ""]
    for c in lw.consts:
        ctype = _C_TYPES[c.ctype]
        n = max(int(c.values.size), 1)
        data_h.append(f"extern const {ctype} {c.name}[{n}];")
        data_c.append(f"const {ctype} {c.name}[{n}] __attribute__((aligned(4))) = {{")
        data_c.append(_array_text(c.values))
        data_c.append("};")
    data_h += ["", "#endif", ""]
    data_c.append("")

    gin, gout = lw.input_tensor, lw.output_tensor

    def buf_ptr(name: str) -> str:
        return f"(ek_arena + {lw.buffer_of[name].offset})"

    def info(t) -> str:
        dims = list(t.shape) + [0] * (4 - len(t.shape))
        scale = repr(float(t.quant.scale[0])) + "f" if t.quant else "0.0f"
        zp = t.quant.zero_point[0] if t.quant else 0
        return (f"{{{_EK_TYPES[t.type_name]}, {len(t.shape)}, {{{', '.join(map(str, dims))}}}, "
                f"{t.nbytes}u, {scale}, {zp}}}")

    m = ["/* Generated by edgekit.codegen: schedule of kernel calls and static arena.",
         f" * model: {_c_string(model_name)}, .tflite sha256 prefix {model_hash}",
         f" * arena: {arena} bytes planned; {len(lw.steps)} ops; "
         f"{sum(s.macs for s in lw.steps)} MACs. Do not edit. */",
         "#include <stddef.h>", "#include <stdint.h>", '#include "ek_model.h"',
         *[f'#include "{h}"' for h in lw.kernel_headers], '#include "model_data.h"', "",
         "#ifndef EK_ARENA_SECTION",
         "#define EK_ARENA_SECTION",
         "#endif",
         f"static uint8_t ek_arena[{max(arena, 16)}] EK_ARENA_SECTION __attribute__((aligned(16)));",
         "",
         "/* Optional per-op profiling: -DEK_PROFILE_HOOK=fn calls fn(i) before op i and",
         " * fn(n_ops) after the last one (e.g. to read a timer). */",
         "#ifdef EK_PROFILE_HOOK",
         "void EK_PROFILE_HOOK(uint32_t op_index);",
         "#define EK_PROF(i) EK_PROFILE_HOOK(i)",
         "#else",
         "#define EK_PROF(i) ((void)0)",
         "#endif", "",
         "#if defined(EK_KERNELS_DSP) && EK_KERNELS_DSP",
         "#define EK_SCRATCH(p) ((int16_t *)(p))",
         "#else",
         "#define EK_SCRATCH(p) ((int16_t *)NULL)",
         "#endif", ""]
    m += lw.static_decls
    m += ["",
          "static const ek_model_info_t ek_info = {",
          f'    "{_c_string(model_name)}", "{model_hash}",',
          f"    {info(gin)},",
          f"    {info(gout)},",
          f"    {arena}u, {len(lw.steps)}u,",
          "};", "",
          "const ek_model_info_t *ek_model_info(void) { return &ek_info; }",
          f"void *ek_model_input(void) {{ return {buf_ptr(lw.input_buffer)}; }}",
          f"const void *ek_model_output(void) {{ return {buf_ptr(lw.output_buffer)}; }}", "",
          "int ek_model_invoke(void)", "{"]
    for k, s in enumerate(lw.steps):
        call = s.call
        for name, b in lw.buffer_of.items():
            call = call.replace(f"@{{{name}}}", str(b.offset))
        m.append(f"    /* {s.index}: {s.op} -> {s.out_shape}, {s.macs} MACs */")
        m.append(f"    EK_PROF({k}u);")
        m.append(f"    {call}")
    m += [f"    EK_PROF({len(lw.steps)}u);", "    return 0;", "}", ""]
    return {"model.c": "\n".join(m), "model_data.c": "\n".join(data_c),
            "model_data.h": "\n".join(data_h)}


def _c_string(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_. " else "_" for ch in s)


__all__ = ["generate", "CodegenResult", "OpInfo", "Buffer", "runtime_dir", "runtime_sources",
           "kernels_dir", "runtime_include_dirs"]
