"""One test module per op: an op added to the registry brings its cases here as one new file,
picked up by tests/codegen/test_new_ops.py (host, reference and DSP kernels) and
tests/runtime/test_qemu_kernels.py (QEMU, reference and DSP kernels) with no list to edit.
See docs/ARCHITECTURE.md, "Adding an op".

A module `op_cases/<name>.py` defines

    WANT = {"TANH"}          # the TFLite ops its models must contain (the converter rewrites
                             # some: this catches it)
    CASES = [{"op": "<name>", "seed": 301, ...}, ...]   # "op" is the module's name
    QEMU_SEEDS = (301,)      # the cases also run on QEMU (one firmware and run per variant)

    def build(case, shape, rng, weights):    # runs in tiny_models' TensorFlow subprocess
        import tensorflow as tf
        return lambda x: tf.math.tanh(x)     # the float function the converter quantizes

    (optional) def rewrite(case, data) -> bytes: edit the converted .tflite (e.g. set an
    option the converter never emits).

Every case's inputs also hold the int8 range ends (range_ends): every int8 value, all -128,
all 127. An op's refusals (what the converter never emits) go in tests/codegen/test_<op>.py,
on a case's model edited with edited_model.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import numpy as np

HERE = Path(__file__).parent


def module_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_"))


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def modules() -> list[ModuleType]:
    return [module(n) for n in module_names()]


def is_op_case(case: dict) -> bool:
    return case["op"] in module_names()


def source_digest(name: str) -> str:
    """The case module's source, hashed into the model cache key: editing a builder rebuilds."""
    return hashlib.sha256((HERE / f"{name}.py").read_bytes()).hexdigest()[:12]


def cases() -> list[dict]:
    return [c for m in modules() for c in m.CASES]


def want(case: dict) -> set[str]:
    return set(module(case["op"]).WANT)


def qemu_cases() -> list[dict]:
    return [c for m in modules() for c in m.CASES if c["seed"] in getattr(m, "QEMU_SEEDS", ())]


def range_ends(shape: tuple[int, ...]) -> np.ndarray:
    """Three int8 inputs of `shape` (without the batch): every int8 value in turn (tiled), all
    -128 and all 127, so each kernel case meets both ends of the range."""
    n = int(np.prod(shape))
    sweep = np.resize(np.arange(-128, 128, dtype=np.int16), n).astype(np.int8).reshape(shape)
    return np.stack([sweep, np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)])


def edited_model(case: dict, edit, out: Path) -> Path:
    """The case's model with edit(model) applied to its unpacked flatbuffer (LiteRT's schema
    ModelT), written to out: what the converter never emits (an option, a quantization), for an
    op's refusal tests."""
    from tests.codegen import tiny_models

    out.write_bytes(tiny_models.edit_flatbuffer(tiny_models.ensure_models([case])[0].read_bytes(), edit))
    return out
