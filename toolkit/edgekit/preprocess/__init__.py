"""The one reference implementation of each kind of preprocessing (docs/ARCHITECTURE.md, "Preprocessing spec").

Training, calibration, evaluation and the firmware frontends' parity tests all call these;
nothing else re-implements them. The spec classes are what model.yaml's `preprocessing:`
holds. `apply(spec, raw)` dispatches on `spec.kind`.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

import numpy as np
from pydantic import Field

from edgekit.preprocess.audio import AudioSpec
from edgekit.preprocess.image import ImageSpec
from edgekit.preprocess.tensor import TensorSpec

PreprocessingSpec = Annotated[Union[AudioSpec, ImageSpec, TensorSpec], Field(discriminator="kind")]


def apply(spec: Any, raw: np.ndarray) -> np.ndarray:
    """Raw sample -> model input (float32, the spec's output_shape).

    `spec` is a preprocessing spec (AudioSpec/ImageSpec) or anything holding one in
    `.preprocessing` (a ModelSpec). Audio raw: int16 PCM; image raw: uint8 HxWx3.
    """
    spec = getattr(spec, "preprocessing", spec)
    kind = getattr(spec, "kind", None)
    if kind == "mfcc":
        from edgekit.preprocess.audio import mfcc

        return mfcc(spec, raw)
    if kind == "image":
        from edgekit.preprocess.image import preprocess

        return preprocess(spec, raw)
    if kind == "tensor":
        from edgekit.preprocess.tensor import identity

        return identity(spec, raw)
    raise ValueError(f"unknown preprocessing kind {kind!r}")


def apply_batch(spec: Any, raws: list[np.ndarray]) -> np.ndarray:
    """apply() over many samples at once (the same computation, vectorised where it can be)."""
    spec = getattr(spec, "preprocessing", spec)
    if getattr(spec, "kind", None) == "mfcc":
        from edgekit.preprocess.audio import fit_clip, mfcc_batch

        # Fit every clip first (they may differ in length), then one vectorised pass.
        return mfcc_batch(spec, np.stack([fit_clip(spec, np.asarray(r).reshape(-1)) for r in raws]))
    return np.stack([apply(spec, r) for r in raws]) if raws else np.empty((0, *spec.output_shape), np.float32)


__all__ = ["AudioSpec", "ImageSpec", "TensorSpec", "PreprocessingSpec", "apply", "apply_batch"]
