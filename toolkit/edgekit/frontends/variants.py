"""Firmware preprocessing variants as data: models/<model>/firmware_variants.yaml.

A variant is how one firmware's frontend differs from the model's preprocessing spec, the
way real device firmware does (another window, a Q15 FFT, nearest-neighbour resize, a
camera driver delivering BGR). `default` always exists and follows the spec exactly.

File format (one mapping per variant under `variants:`; knobs not given keep the spec):

    variants:
      fast-resize:
        description: nearest-neighbour downscale and integer normalisation
        resize: nearest
        integer_normalisation: true
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgekit.errors import UserError
from edgekit.yamlio import read_yaml_mapping, validation_error_line

VARIANTS_FILE = "firmware_variants.yaml"
DEFAULT = "default"


class AudioVariant(BaseModel):
    """Knobs of the audio (MFCC) frontend that firmware gets different from the spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = DEFAULT
    description: str = "follows the preprocessing spec exactly"
    window: Optional[Literal["hann", "hamming"]] = Field(None, description="window table the firmware uses")
    fft: Literal["float", "q15"] = Field(
        "float", description="q15: fixed-point FFT that halves every butterfly stage, as Q15 DSP code does")
    fft_scaled_by_1_over_n: bool = Field(
        False, description="spectrum left divided by fft_size (an FFT that scales) before the log offset")
    rescale_after_log: bool = Field(
        False, description="with fft_scaled_by_1_over_n: the 1/N is undone after the log (+ln N), so the "
                           "log offset acts N times larger (N^2 for a power spectrum)")
    log: Literal["ln", "log2", "fast-ln"] = Field(
        "ln", description="log2: log2 where the spec says ln; fast-ln: exponent-bits approximation")
    log_offset: Optional[float] = Field(None, gt=0, description="another offset before the log")

    @model_validator(mode="after")
    def _consistent(self) -> "AudioVariant":
        if self.rescale_after_log and not self.fft_scaled_by_1_over_n:
            raise ValueError("rescale_after_log needs fft_scaled_by_1_over_n: true (there is no 1/N to undo)")
        return self


class ImageVariant(BaseModel):
    """Knobs of the image frontend that camera firmware gets different from the spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = DEFAULT
    description: str = "follows the preprocessing spec exactly"
    resize: Optional[Literal["bilinear", "nearest"]] = None
    square_crop: Optional[bool] = Field(None, description="false: the whole frame is squeezed to the input")
    crop_fraction: Optional[float] = Field(None, gt=0, le=1.0)
    swap_red_blue: bool = Field(False, description="the camera driver delivers the other colour order")
    integer_normalisation: bool = Field(
        False, description="one fixed-point multiply-add per channel on integer pixels, truncating")


FrontendVariant = Union[AudioVariant, ImageVariant]


def _variant_class(pre_spec) -> type:
    return AudioVariant if pre_spec.kind == "mfcc" else ImageVariant


def variants_path(model_spec) -> Optional[Path]:
    folder = getattr(model_spec, "folder", None)
    return (Path(folder) / VARIANTS_FILE) if folder else None


def load_variants(model_spec) -> dict[str, FrontendVariant]:
    """All variants of a model, `default` first. A model without the file has only `default`."""
    pre = model_spec.preprocessing
    cls = _variant_class(pre)
    out: dict[str, FrontendVariant] = {DEFAULT: cls()}
    path = variants_path(model_spec)
    if path is None or not path.is_file():
        return out
    raw = read_yaml_mapping(path)
    entries = raw.get("variants")
    if not isinstance(entries, dict) or not entries:
        raise UserError(f"{path}: `variants:` must be a mapping of variant name -> knobs; "
                        f"see edgekit/frontends/variants.py for the format")
    for name, knobs in entries.items():
        if name == DEFAULT:
            raise UserError(f"{path}: variants.{DEFAULT}: the name `default` is reserved for the spec itself; rename it")
        if not isinstance(knobs, dict):
            raise UserError(f"{path}: variants.{name}: expected a mapping of knobs, got {type(knobs).__name__}")
        try:
            out[str(name)] = cls.model_validate({**knobs, "name": str(name)})
        except Exception as exc:
            line = validation_error_line(path, exc)
            raise UserError(line.replace(f"{path}: ", f"{path}: variants.{name}.", 1)) from None
    return out


def get_variant(model_spec, name: Optional[str]) -> FrontendVariant:
    """The named variant (None -> default); UserError naming the known ones otherwise."""
    variants = load_variants(model_spec)
    key = name or DEFAULT
    if key not in variants:
        raise UserError(f"--firmware-variant {key}: unknown for model {model_spec.name}; "
                        f"known: {', '.join(variants)}")
    return variants[key]


def effective_spec(pre_spec, variant: FrontendVariant):
    """The preprocessing spec with the variant's spec-level overrides applied (window,
    log offset, resize, crop). Firmware-only knobs (Q15 FFT, fast log, integer
    normalisation, swapped colour order) are not spec fields and stay on the variant."""
    if isinstance(variant, AudioVariant):
        upd = {"window": variant.window, "log_offset": variant.log_offset}
    else:
        upd = {"resize": variant.resize, "square_crop": variant.square_crop,
               "crop_fraction": variant.crop_fraction}
    upd = {k: v for k, v in upd.items() if v is not None}
    return pre_spec.model_copy(update=upd) if upd else pre_spec
