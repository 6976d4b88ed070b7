"""Preprocessing entry points: where the model-input tensor under test comes from
(docs/ARCHITECTURE.md, skew).

The skew question compares a preprocessing implementation with the model's spec (the one
reference, edgekit.preprocess). An entry point is one way to obtain that implementation's
output; adding one is a module in this package (found by itself) with one
`@register("name")` line, or a module of another package named in the entry-point group
"edgekit.preprocessing" (docs/ARCHITECTURE.md, "Adding a preprocessing entry point").

Interface (PreprocessingEntryPoint):

- constructed with an EntryPointContext (the ModelSpec and the int8 model's input
  quantization) and the entry point's own option (a variant name, FILE.py:FUNCTION, a
  captures folder, C sources);
- `name` (the registry key) and `version` (what the implementation says it is: a variant
  name, a file hash, a frontend's name/version string);
- `on_device`: True when the same implementation also runs on the device (a firmware
  frontend), so a device run end to end from raw input is possible as well; False for code
  that runs only on the host (a Python pipeline) or for tensors already produced (captures);
- `samples(default)`: the samples to evaluate; most entry points take the test split
  given, captures bring their own rows;
- `tensor(sample)`, per RawSample (id; raw input as the device receives it: int16 PCM
  [samples] for audio, uint8 [H, W, 3] RGB for images; cohort fields; label index or None):
  an EntryPointOutput holding the model-input tensor, either float32 in model-input units
  (after normalisation; edgekit quantizes it with the model's input scale) or int8 already
  quantized (uint8 is read as int8 + 128), optional device output scores / prediction, or a
  `failure` with its reason (an exception in user code, a wrong shape): that sample is
  recorded as failed and the run goes on.
- `close()` releases what `open` built (a compiled library, a subprocess).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional, Sequence

import numpy as np

from edgekit.errors import UserError


@dataclass(frozen=True)
class EntryPointContext:
    spec: Any                   # ModelSpec: labels, preprocessing spec, cohort fields
    input_quant: Any            # edgekit.interpreters.TensorQuant of the int8 model's input

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.spec.preprocessing.output_shape)


@dataclass(frozen=True)
class RawSample:
    id: str
    raw: np.ndarray             # int16 PCM [samples] (audio) or uint8 [H, W, 3] RGB (image)
    cohort: dict
    label: Optional[int] = None  # None: no true label (the flip rate stands in for accuracy)


@dataclass(frozen=True)
class EntryPointOutput:
    tensor: Optional[np.ndarray] = None        # float32 model-input units, or int8 quantized
    failure: Optional[str] = None              # why this sample has no tensor
    device_scores: Optional[np.ndarray] = None  # the device's own output scores (captures)
    device_prediction: Optional[int] = None     # the device's own predicted label index (captures)


class PreprocessingEntryPoint(ABC):
    name: ClassVar[str] = ""
    on_device: ClassVar[bool] = False
    # True when the entry point brings its own samples (a captures folder's rows) instead of
    # running over the model's test split, which then need not be prepared.
    provides_samples: ClassVar[bool] = False

    def __init__(self, context: EntryPointContext, option: Any = None, *, skip_bad: bool = False):
        self.context = context
        self.option = option
        self.skip_bad = skip_bad     # bad rows of the entry point's own input are left out and listed
        self.cohort_fields: Optional[list] = None   # cohort fields of its own samples, when it has them
        self.skipped: list[dict] = []               # {"where", "id", "problem"} per row left out

    @property
    def version(self) -> str:
        return str(self.option or "")

    def samples(self, default: Sequence[RawSample]) -> Sequence[RawSample]:
        return default

    @abstractmethod
    def tensor(self, sample: RawSample) -> EntryPointOutput:
        """The implementation's model input for one sample (see the module docstring)."""

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        return {"entry_point": self.name, "version": self.version, "on_device": self.on_device}


_REGISTRY: dict[str, type[PreprocessingEntryPoint]] = {}


def register(name: str, on_device: bool = False) -> Callable[[type], type]:
    """Class decorator: make an entry point available under `name`."""

    def deco(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"preprocessing entry point {name!r} registered twice")
        cls.name, cls.on_device = name, on_device
        _REGISTRY[name] = cls
        return cls

    return deco


ENTRY_POINT_GROUP = "edgekit.preprocessing"  # third-party entry points: `name = "pkg.module"`
_loaded = False


def _load_builtin() -> None:
    """Every module of this package is an entry point that registers itself on import; so
    is every module named in the entry-point group (a third-party package's)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    import pkgutil
    from importlib.metadata import entry_points

    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # a broken plugin: one line naming it
            raise UserError(f"entry point {ep.name} = {ep.value} (group {ENTRY_POINT_GROUP}): cannot be imported "
                            f"({type(exc).__name__}: {exc}); fix or uninstall that package") from None


def available() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def entry_point(name: str, context: EntryPointContext, option: Any = None, *,
                skip_bad: bool = False) -> PreprocessingEntryPoint:
    """An instance of the entry point registered as `name`."""
    _load_builtin()
    cls = _REGISTRY.get(name)
    if cls is None:
        raise UserError(f"preprocessing entry point {name!r}: unknown; known: {', '.join(sorted(_REGISTRY))}")
    return cls(context, option, skip_bad=skip_bad)


def check_tensor(context: EntryPointContext, tensor: Any, what: str) -> tuple[Optional[np.ndarray], Optional[str]]:
    """A produced tensor -> (int8 or float32 array of the model's input shape, None), or
    (None, the reason it does not fit). A leading batch axis of 1 is accepted; a
    channels-first layout is named as such."""
    want = context.input_shape
    if not isinstance(tensor, np.ndarray):
        return None, f"{what} is a {type(tensor).__name__}, not a numpy array"
    t = tensor
    if t.ndim == len(want) + 1 and t.shape[0] == 1:
        t = t[0]
    if t.shape != want:
        if t.ndim == 3 and len(want) == 3 and t.shape == (want[2], want[0], want[1]):
            return None, (f"{what} has shape {t.shape}, channels first (NCHW); the model takes channels last "
                          f"(NHWC) {want}: np.transpose(t, (1, 2, 0))")
        if t.size == int(np.prod(want)):
            return None, f"{what} has shape {t.shape}; the model takes {want} (same size: reshape it)"
        return None, f"{what} has shape {t.shape}; the model takes {want}"
    if t.dtype == np.uint8:
        return (t.astype(np.int16) - 128).astype(np.int8), None
    if t.dtype == np.int8:
        return t, None
    if t.dtype.kind == "f":
        if not np.isfinite(t).all():
            return None, f"{what} holds NaN or infinite values"
        return t.astype(np.float32), None
    return None, (f"{what} has dtype {t.dtype}; give float32 (model-input units after normalisation) "
                  f"or int8/uint8 already quantized")


__all__ = ["EntryPointContext", "EntryPointOutput", "PreprocessingEntryPoint", "RawSample", "available",
           "check_tensor", "entry_point", "register"]
