"""On-device preprocessing frontends (C, in firmware/frontends/) and their Python side.

- `generate(spec, variant, quant, out_dir)` writes the frontend's config header and tables
  from the model's preprocessing spec; returns the sources and include dirs a firmware links.
- `load_variants(model)`, `get_variant(model, name)`: firmware variants as data
  (models/<m>/firmware_variants.yaml).
- `build_host(...)` compiles the same C sources for the host (ctypes) for parity tests.
- `parity(...)`: C frontend vs the Python reference, in int8 steps, overall and per cohort.
- `raw_bytes(spec, raw)`: the bytes the device's ek_frontend_run() takes for a raw sample.
- `input_quant_of(tflite)`: the int8 model input's quantization, which the frontend bakes in.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.frontends.codegen import FrontendSources, InputQuant, generate, library_sources
from edgekit.frontends.host import HostFrontend, build_host
from edgekit.frontends.parity import ParityResult, ParityStats, parity, reference_int8
from edgekit.frontends.raw import raw_bytes
from edgekit.frontends.variants import (AudioVariant, FrontendVariant, ImageVariant, effective_spec,
                                        get_variant, load_variants)


def input_quant_of(tflite_path: Path) -> InputQuant:
    """The int8 model's input quantization (scale, zero point), read from the .tflite."""
    from edgekit.errors import UserError
    from edgekit.interpreters import io_quant

    q_in, _ = io_quant(Path(tflite_path))
    if q_in.dtype != "int8":
        raise UserError(f"{tflite_path}: input tensor is {q_in.dtype}; the frontends emit int8 model inputs, "
                        f"convert with `edgekit convert` (full int8)")
    return InputQuant(float(q_in.scale), int(q_in.zero_point))


__all__ = ["AudioVariant", "FrontendSources", "FrontendVariant", "HostFrontend", "ImageVariant", "InputQuant",
           "ParityResult", "ParityStats", "build_host", "effective_spec", "generate", "get_variant",
           "input_quant_of", "library_sources", "load_variants", "parity", "raw_bytes", "reference_int8"]
