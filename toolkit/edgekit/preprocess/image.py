"""Image preprocessing spec and its Python reference: sensor RGB image -> model input."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ImageSpec(BaseModel):
    """Every number that turns a sensor frame into the model's input tensor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["image"] = "image"
    width: int = Field(96, gt=0)
    height: int = Field(96, gt=0)
    channels: Literal[1, 3] = 3
    resize: Literal["bilinear", "area", "nearest"] = "bilinear"
    crop_fraction: float = Field(1.0, gt=0, le=1.0, description="central crop kept before resizing")
    color_order: Literal["rgb", "bgr"] = "rgb"
    mean: list[float] = Field([127.5, 127.5, 127.5], description="per channel, in 0..255 units")
    std: list[float] = Field([127.5, 127.5, 127.5], description="per channel, in 0..255 units")

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)
