"""Preprocessing kind `tensor`: the sample already is the model's input (docs/ARCHITECTURE.md).

For models whose inputs are not audio or images edgekit renders (a regression model, the
MLPerf Tiny anomaly-detection autoencoder's 640 log-mel values, a user's own features), and
for a bare `--model-file`: the raw sample is a float array of `shape`, used as is. There is
no on-device frontend: the device is given the quantized tensor.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class TensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["tensor"] = "tensor"
    shape: list[int] = Field(min_length=1, description="the model input without the batch dimension")

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.shape)


def identity(spec: TensorSpec, raw: np.ndarray) -> np.ndarray:
    x = np.asarray(raw, np.float32)
    if x.size != int(np.prod(spec.output_shape)):
        raise ValueError(f"a tensor sample of {x.size} values does not fill the input shape {spec.output_shape}")
    return x.reshape(spec.output_shape)
