"""The one reference implementation of each kind of preprocessing (DESIGN.md contract 2).

Training, calibration, evaluation and the firmware frontends' parity tests all call these;
nothing else re-implements them. The spec classes are what model.yaml's `preprocessing:`
holds.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from edgekit.preprocess.audio import AudioSpec
from edgekit.preprocess.image import ImageSpec

PreprocessingSpec = Annotated[Union[AudioSpec, ImageSpec], Field(discriminator="kind")]

__all__ = ["AudioSpec", "ImageSpec", "PreprocessingSpec"]
