"""The op registry of edgekit-micro: one module per op (or per pair of twin ops), registered by
a decorator. See docs/ARCHITECTURE.md, "Adding an op".

Each registration says everything edgekit knows about an op in one place:

    @register("MUL", 18, types=("int8",), kernels=("elementwise.c",),
              options=((0, "activation", "<b", 0),), options_type="MulOptions")
    def lower_mul(lw: Lowerer, op: Operator) -> None:
        ...validate, then lw.step(op, "ek_mul_s8(...);")

- name, code: the TFLite BuiltinOperator (the .tflite reader names ops from this table);
- types, weights: the tensor types accepted, in targets/runtimes/edgekit-micro.yaml's format
  (activation signatures "int8" or "a->b"; constant-input types), which a test holds equal to
  that file;
- kernels: the C files under firmware/runtime/src/kernels/ holding the op's kernel; each
  has its header beside it (conv.c -> conv.h: the parameter structs and declarations), which
  the generated model.c includes when the model uses the op (OpSpec.headers);
- options: the op's BuiltinOptions fields the reader decodes (field index, key, struct
  format, default), and options_type: the BuiltinOptions union member the op must carry (the
  reader rejects a missing or mismatched table, as LiteRT does);
- inplace: the output may take the memory of an input that dies at this op (element-wise ops
  whose kernel reads element i of each input before writing element i);
- the decorated function: the op's lowering (validation + the C call), run by
  codegen.lower.Lowerer.

Adding an op is adding its module here and its import line at the end of this file, and its
kernel file with its header in firmware/runtime/src/kernels/ (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # only for annotations: codegen.lower imports this package
    from edgekit.codegen.lower import Lowerer
    from edgekit.codegen.tflite_reader import Operator

OptionField = tuple[int, str, str, object]   # (field index, key, struct format, default)


@dataclass(frozen=True)
class OpSpec:
    name: str
    code: int
    types: tuple[str, ...]
    weights: tuple[str, ...]
    kernels: tuple[str, ...]
    options: tuple[OptionField, ...]
    options_type: str
    inplace: bool
    lower: Callable[["Lowerer", "Operator"], None]

    @property
    def headers(self) -> tuple[str, ...]:
        """The kernel headers the generated code includes for this op: each kernel file's
        own header beside it in firmware/runtime/src/kernels/ (conv.c -> conv.h)."""
        return tuple(k[:-2] + ".h" for k in self.kernels)


REGISTRY: dict[str, OpSpec] = {}


def register(name: str, code: int, *, types: tuple[str, ...], kernels: tuple[str, ...],
             weights: tuple[str, ...] = (), options: tuple[OptionField, ...] = (),
             options_type: str = "", inplace: bool = False):
    """Decorator: register the decorated lowering function as op `name` (builtin `code`)."""

    def deco(fn: Callable[["Lowerer", "Operator"], None]):
        if name in REGISTRY or any(s.code == code for s in REGISTRY.values()):
            raise RuntimeError(f"op {name} (builtin {code}) is registered twice")
        REGISTRY[name] = OpSpec(name, code, tuple(types), tuple(weights), tuple(kernels),
                                tuple(options), options_type, inplace, fn)
        return fn

    return deco


def op_codes() -> dict[int, str]:
    """BuiltinOperator code -> name of every op edgekit-micro implements."""
    return {s.code: s.name for s in REGISTRY.values()}


def runtime_op_list() -> dict[str, dict]:
    """The op list in targets/runtimes/edgekit-micro.yaml's format (what the code generator
    accepts), for convert's op check."""
    out = {}
    for s in sorted(REGISTRY.values(), key=lambda s: s.code):
        entry: dict = {"types": list(s.types)}
        if s.weights:
            entry["weights"] = list(s.weights)
        out[s.name] = entry
    return out


# Registration: one line per op module (import order is registration order).
from edgekit.codegen.ops import conv_2d  # noqa: E402,F401
from edgekit.codegen.ops import depthwise_conv_2d  # noqa: E402,F401
from edgekit.codegen.ops import fully_connected  # noqa: E402,F401
from edgekit.codegen.ops import add  # noqa: E402,F401
from edgekit.codegen.ops import pool  # noqa: E402,F401
from edgekit.codegen.ops import mean  # noqa: E402,F401
from edgekit.codegen.ops import softmax  # noqa: E402,F401
from edgekit.codegen.ops import reshape  # noqa: E402,F401
from edgekit.codegen.ops import pad  # noqa: E402,F401
from edgekit.codegen.ops import quantize  # noqa: E402,F401
from edgekit.codegen.ops import dequantize  # noqa: E402,F401
from edgekit.codegen.ops import sub  # noqa: E402,F401
from edgekit.codegen.ops import mul  # noqa: E402,F401
from edgekit.codegen.ops import maximum_minimum  # noqa: E402,F401
from edgekit.codegen.ops import squeeze  # noqa: E402,F401
from edgekit.codegen.ops import concatenation  # noqa: E402,F401
from edgekit.codegen.ops import hard_swish  # noqa: E402,F401
from edgekit.codegen.ops import resize_nearest_neighbor  # noqa: E402,F401
from edgekit.codegen.ops import strided_slice  # noqa: E402,F401
from edgekit.codegen.ops import transpose_conv  # noqa: E402,F401
from edgekit.codegen.ops import logistic  # noqa: E402,F401
from edgekit.codegen.ops import tanh  # noqa: E402,F401
from edgekit.codegen.ops import resize_bilinear  # noqa: E402,F401
