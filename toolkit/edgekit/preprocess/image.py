"""Image preprocessing spec and its Python reference: sensor RGB frame -> model input.

This is THE definition a C frontend must reproduce. In order, for a uint8 frame of H x W
pixels in RGB order (HxWx3, or HxW / HxWx1 for a grey sensor):

1. Crop (integer box, see `crop_box`):
   a. if `square_crop`: the central square of side s = min(H, W),
      top = (H - s) // 2, left = (W - s) // 2. Keeps the garment's aspect ratio whatever
      the sensor's.
   b. central crop of `crop_fraction` of that region (h x w), exactly tf.image.central_crop:
      off_h = floor((h - h * crop_fraction) / 2) computed in float64, kept height h - 2 * off_h;
      the same for the width.
2. Channels: `channels: 3` takes a grey frame replicated to RGB; `channels: 1` takes
   luma Y = 0.299 R + 0.587 G + 0.114 B (BT.601, float32).
3. Resize the crop (h x w) to (height x width), no antialiasing, half-pixel centres
   (what tf.image.resize does with antialias=False):
   - bilinear: for each output row y, src = (y + 0.5) * (h / height) - 0.5 (float32),
     y0 = max(floor(src), 0), y1 = min(ceil(src), h - 1), fy = src - floor(src);
     the same along x; out = top + (bottom - top) * fy where
     top = I[y0,x0] + (I[y0,x1] - I[y0,x0]) * fx, bottom likewise on row y1.
     Results are float32 in 0..255 units (not rounded).
   - nearest: src index = min(floor((y + 0.5) * (h / height)), h - 1).
4. Colour order: `bgr` reverses the channel axis (the model was trained on BGR input).
5. Normalise per channel: (v - mean[c]) / std[c], float32.

Output: float32 [height, width, channels]. Quantizing it to the model's int8 input
(`quantize_input`): q = clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127),
which is what C's lroundf gives; the firmware can fold steps 5 and the quantization into one
affine map per channel.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

LUMA_WEIGHTS = (0.299, 0.587, 0.114)


class ImageSpec(BaseModel):
    """Every number that turns a sensor frame into the model's input tensor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["image"] = "image"
    width: int = Field(96, gt=0)
    height: int = Field(96, gt=0)
    channels: Literal[1, 3] = 3
    resize: Literal["bilinear", "nearest"] = Field(
        "bilinear", description="half-pixel centres, no antialias (tf.image.resize, antialias=False)")
    square_crop: bool = Field(False, description="first take the central square of the frame")
    crop_fraction: float = Field(1.0, gt=0, le=1.0, description="central crop kept before resizing")
    color_order: Literal["rgb", "bgr"] = "rgb"
    mean: list[float] = Field([127.5, 127.5, 127.5], description="per channel, in 0..255 units")
    std: list[float] = Field([127.5, 127.5, 127.5], description="per channel, in 0..255 units")

    @model_validator(mode="after")
    def _per_channel(self) -> "ImageSpec":
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) != self.channels:
                raise ValueError(f"{name} needs {self.channels} value(s), one per channel; got {len(values)}")
        if any(s <= 0 for s in self.std):
            raise ValueError("std values must be > 0")
        return self

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)


def crop_box(spec: ImageSpec, frame_height: int, frame_width: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the region that is resized; integers a C frontend can bake in."""
    top, left, h, w = 0, 0, frame_height, frame_width
    if spec.square_crop:
        side = min(h, w)
        top, left, h, w = (h - side) // 2, (w - side) // 2, side, side
    if spec.crop_fraction < 1.0:
        # tf.image.central_crop's arithmetic, so the test can hold us to it.
        off_h = int(math.floor((h - h * spec.crop_fraction) / 2.0))
        off_w = int(math.floor((w - w * spec.crop_fraction) / 2.0))
        top, left, h, w = top + off_h, left + off_w, h - 2 * off_h, w - 2 * off_w
    if h < 1 or w < 1:
        raise ValueError(f"crop of a {frame_height}x{frame_width} frame is empty")
    return top, left, h, w


def _axis_bilinear(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = np.float32(in_size / out_size)
    src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(src)
    lo = np.maximum(floor, 0).astype(np.int64)
    hi = np.minimum(np.ceil(src), in_size - 1).astype(np.int64)
    frac = (src - floor).astype(np.float32)
    return lo, hi, frac


def resize(img: np.ndarray, height: int, width: int, method: str = "bilinear") -> np.ndarray:
    """HxWxC (any numeric dtype) -> height x width x C float32; semantics in the module docstring."""
    x = np.asarray(img, dtype=np.float32)
    h, w = x.shape[:2]
    if method == "nearest":
        ys = np.minimum(np.floor((np.arange(height) + 0.5) * np.float32(h / height)).astype(np.int64), h - 1)
        xs = np.minimum(np.floor((np.arange(width) + 0.5) * np.float32(w / width)).astype(np.int64), w - 1)
        return x[ys][:, xs]
    if method != "bilinear":
        raise ValueError(f"unknown resize method {method!r}")
    y0, y1, fy = _axis_bilinear(h, height)
    x0, x1, fx = _axis_bilinear(w, width)
    fx = fx[None, :, None]
    rows0, rows1 = x[y0], x[y1]
    top = rows0[:, x0] + (rows0[:, x1] - rows0[:, x0]) * fx
    bottom = rows1[:, x0] + (rows1[:, x1] - rows1[:, x0]) * fx
    return top + (bottom - top) * fy[:, None, None]


def _as_hwc(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an HxW, HxWx1 or HxWx3 image, got shape {a.shape}")
    return a[:, :, :3]


def preprocess(spec: ImageSpec, img: np.ndarray) -> np.ndarray:
    """uint8 sensor frame (RGB) -> float32 [height, width, channels] model input (unquantized)."""
    a = _as_hwc(img)
    top, left, h, w = crop_box(spec, a.shape[0], a.shape[1])
    a = a[top:top + h, left:left + w]
    if spec.channels == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif spec.channels == 1 and a.shape[2] == 3:
        wts = np.asarray(LUMA_WEIGHTS, dtype=np.float32)
        a = (a.astype(np.float32) @ wts)[:, :, None]
    out = resize(a, spec.height, spec.width, spec.resize)
    if spec.color_order == "bgr":
        out = out[:, :, ::-1]
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray((out - mean) / std, dtype=np.float32)


def preprocess_batch(spec: ImageSpec, images) -> np.ndarray:
    """Many frames (sizes may differ) -> float32 [N, height, width, channels]."""
    out = np.empty((len(images), *spec.output_shape), dtype=np.float32)
    for i, img in enumerate(images):
        out[i] = preprocess(spec, img)
    return out


def round_half_away_from_zero(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize_input(x: np.ndarray, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """Float model input -> the int8 (or uint8) input tensor: round half away from zero, clamp."""
    info = np.iinfo(dtype)
    q = round_half_away_from_zero(np.asarray(x, dtype=np.float64) / float(scale)) + int(zero_point)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return ((np.asarray(q, dtype=np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)
