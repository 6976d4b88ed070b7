"""Generate a frontend's build-time configuration from the preprocessing spec.

`generate()` writes two files into out_dir:

- ek_frontend_config.h: sizes, switches (EK_FE_*) and the int8 input quantization;
- ek_frontend_tables.c: window, FFT twiddles, sparse mel weights, DCT basis (audio) or
  per-channel normalisation and channel order (image).

Tables come from the reference implementation's own functions (edgekit.preprocess.audio
window/mel_matrix/dct_matrix), so the C frontend and the Python reference cannot drift apart
in their constants; only arithmetic (float32, FFT algorithm) separates them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit import resources
from edgekit.errors import UserError
from edgekit.fileio import write_atomic
from edgekit.frontends.variants import (
    AudioVariant,
    FrontendVariant,
    ImageVariant,
    effective_spec,
)

CONFIG_HEADER = "ek_frontend_config.h"
TABLES_SOURCE = "ek_frontend_tables.c"


@dataclass(frozen=True)
class InputQuant:
    """The int8 model input's quantization: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def __post_init__(self):
        if not (isinstance(self.scale, (int, float)) and math.isfinite(self.scale) and self.scale > 0):
            raise UserError(f"input quantization: scale {self.scale!r} must be a finite number > 0; "
                            f"take it from the int8 model (edgekit.frontends.input_quant_of)")
        if not -128 <= int(self.zero_point) <= 127:
            raise UserError(f"input quantization: zero_point {self.zero_point} is outside int8 -128..127; "
                            f"the frontend emits int8 model inputs only")

    @classmethod
    def for_range(cls, lo: float, hi: float) -> "InputQuant":
        """The asymmetric int8 quantization a converter picks for values in [lo, hi]."""
        lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
        if hi - lo <= 0:
            raise UserError("input quantization: empty value range; give calibration data with some spread")
        scale = (hi - lo) / 255.0
        return cls(scale, int(round(-128 - lo / scale)))


@dataclass
class FrontendSources:
    """What a firmware build compiles and links for the frontend."""

    kind: str                       # "mfcc" or "image"
    variant: str
    spec_hash: str                  # hash of (spec, variant, input quantization)
    sources: list[Path]
    include_dirs: list[Path]
    defines: dict[str, str] = field(default_factory=dict)
    static_tables_bytes: int = 0    # const tables placed in flash
    raw_capacity: int = 0           # bytes of the frontend's raw input buffer (RAM)
    sensor: Optional[tuple[int, int]] = None  # (height, width) accepted without a size header


def frontend_src_dir() -> Path:
    return resources.firmware_dir() / "frontends"


def library_sources() -> list[Path]:
    d = frontend_src_dir() / "src"
    return [d / "ek_fft.c", d / "ek_frontend_audio.c", d / "ek_frontend_image.c"]


def spec_hash(pre_spec, variant: FrontendVariant, quant: InputQuant, sensor: Optional[tuple[int, int]]) -> str:
    blob = json.dumps({"spec": pre_spec.model_dump(mode="json"), "variant": variant.model_dump(mode="json"),
                       "quant": [float(quant.scale), int(quant.zero_point)], "sensor": sensor},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _c_float(v: float) -> str:
    # 9 significant digits round-trip a float32 exactly.
    v = float(np.float32(v))
    if not math.isfinite(v):
        raise UserError(f"preprocessing spec: value {v} does not fit a float32 table; check the spec's numbers")
    text = f"{v:.9g}"
    if not any(ch in text for ch in ".en"):
        text += ".0"
    return text + "f"


def _array(ctype: str, name: str, values, fmt, per_line: int = 8) -> str:
    vals = [fmt(v) for v in values]
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n    ".join(lines) if lines else "0"
    return f"const {ctype} {name}[{max(len(vals), 1)}] = {{\n    {body}\n}};\n"


def _q15(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(values, np.float64) * 32768.0), -32768, 32767).astype(np.int64)


def _stage_twiddles(tw: np.ndarray, n: int) -> list[float]:
    """The radix-4 stages' twiddle triples in the order the FFT reads them (ek_fft.h,
    ek_cfft_f32_passes: sub-size L = 4, 16, ... while 4L <= N/4): W_4L^j, W_4L^2j, W_4L^3j,
    taken from the N/2 table itself (W_N^e, negated for e >= N/2) so they are the same floats."""
    pairs = np.asarray(tw, np.float64).reshape(-1, 2)
    out: list[float] = []
    L = 4
    while 4 * L <= n // 4:
        step = n // (4 * L)
        for j in range(L):
            for e in (j * step, 2 * j * step, 3 * j * step):
                w = pairs[e] if e < n // 2 else -pairs[e - n // 2]
                out.extend(float(v) for v in w)
        L *= 4
    return out


def _ln_table() -> list[float]:
    """The frontend's ln (ek_frontend_audio.c ln_f32): per 1/128 interval of the mantissa,
    its middle c as (1/c, ln c)."""
    c = 1.0 + (np.arange(128) + 0.5) / 128.0
    return np.stack([1.0 / c, np.log(c)], 1).ravel().tolist()


def _audio_files(spec, variant: AudioVariant, quant: InputQuant, h: str) -> tuple[str, str, int]:
    from edgekit.preprocess import audio as ref

    eff = effective_spec(spec, variant)
    n = spec.fft_size
    log2n = n.bit_length() - 1
    if n < 16 or (1 << log2n) != n:
        raise UserError(f"preprocessing.fft_size: {n} is not a power of two >= 16; the frontend's radix-4 FFT needs one")
    if n > 8192:
        raise UserError(f"preprocessing.fft_size: {n} is larger than the frontend supports (8192); use a smaller FFT")
    win = ref.window(eff)
    # Padded with a zero to an even length: the FFT reads the frame in sample pairs.
    win_table = np.concatenate([win, np.zeros(len(win) % 2)])
    ln = _ln_table()
    k = np.arange(n // 2)
    tw = np.stack([np.cos(2 * np.pi * k / n), -np.sin(2 * np.pi * k / n)], 1).ravel()
    stage_tw = _stage_twiddles(tw, n)
    mel = ref.mel_matrix(eff)              # [bins, mel]
    dct = ref.dct_matrix(eff)              # [mel, coeffs]
    first, count, offset, weights = [], [], [], []
    for m in range(spec.mel_bins):
        nz = np.nonzero(mel[:, m])[0]
        lo = int(nz[0]) if len(nz) else 0
        hi = int(nz[-1]) + 1 if len(nz) else 0
        first.append(lo)
        count.append(hi - lo)
        offset.append(len(weights))
        weights.extend(mel[lo:hi, m].tolist())
    spectrum_scale = (1.0 / n) if spec.spectrum == "magnitude" else (1.0 / (n * n))
    log_kind = {"ln": 0, "log2": 1, "fast-ln": 2}[variant.log]
    cfg = f"""\
#define EK_FE_KIND_AUDIO 1
#define EK_FE_KIND_IMAGE 0
#define EK_FE_CLIP_SAMPLES {spec.clip_samples}
#define EK_FE_WINDOW_SAMPLES {spec.window_samples}
#define EK_FE_STRIDE_SAMPLES {spec.stride_samples}
#define EK_FE_FRAMES {spec.frames}
#define EK_FE_FFT_LOG2 {log2n}
#define EK_FE_MEL_BINS {spec.mel_bins}
#define EK_FE_DCT_COEFFS {spec.dct_coefficients}
#define EK_FE_SPECTRUM_POWER {1 if spec.spectrum == "power" else 0}
#define EK_FE_FFT_Q15 {1 if variant.fft == "q15" else 0}
#define EK_FE_FFT_SCALE_1_OVER_N {1 if variant.fft_scaled_by_1_over_n else 0}
#define EK_FE_SPECTRUM_SCALE {_c_float(spectrum_scale)}
#define EK_FE_RESCALE_AFTER_LOG {1 if variant.rescale_after_log else 0}
#define EK_FE_LOG_RESCALE {_c_float(-math.log(spectrum_scale) / (math.log(2.0) if variant.log == "log2" else 1.0))}
#define EK_FE_LOG_LN 0
#define EK_FE_LOG_LOG2 1
#define EK_FE_LOG_FAST 2
#define EK_FE_LOG {log_kind}
#define EK_FE_LOG_OFFSET {_c_float(eff.log_offset)}

extern const float ek_fe_window[{len(win_table)}];
extern const int16_t ek_fe_window_q15[{spec.window_samples}];
extern const float ek_fe_twiddle[{n}];
extern const float ek_fe_ln_table[{len(ln)}]; /* (1/c, ln c), c = 1 + (i + 0.5)/128 */
extern const float ek_fe_stage_twiddle[{max(len(stage_tw), 1)}];
extern const int16_t ek_fe_twiddle_q15[{n}];
extern const float ek_fe_mel_weights[];
extern const uint16_t ek_fe_mel_first_bin[{spec.mel_bins}];
extern const uint16_t ek_fe_mel_n_bins[{spec.mel_bins}];
extern const uint16_t ek_fe_mel_offset[{spec.mel_bins}];
extern const float ek_fe_dct[{spec.dct_coefficients * spec.mel_bins}]; /* [coeff][mel] */
"""
    tables = "".join([
        _array("float", "ek_fe_window", win_table, _c_float),
        _array("int16_t", "ek_fe_window_q15", _q15(win), str, 12),
        _array("float", "ek_fe_twiddle", tw, _c_float),
        _array("float", "ek_fe_ln_table", ln, _c_float),
        _array("float", "ek_fe_stage_twiddle", stage_tw if len(stage_tw) else [0.0], _c_float),
        _array("int16_t", "ek_fe_twiddle_q15", _q15(tw), str, 12),
        _array("float", "ek_fe_mel_weights", weights, _c_float),
        _array("uint16_t", "ek_fe_mel_first_bin", first, str, 16),
        _array("uint16_t", "ek_fe_mel_n_bins", count, str, 16),
        _array("uint16_t", "ek_fe_mel_offset", offset, str, 16),
        _array("float", "ek_fe_dct", dct.T.ravel(), _c_float),
    ])
    nbytes = (4 * len(win_table) + 2 * len(win) + 6 * len(tw) + 4 * max(len(stage_tw), 1) + 4 * len(ln)
              + 4 * len(weights) + 6 * spec.mel_bins + 4 * dct.size)
    return cfg, tables, nbytes


def _image_files(spec, variant: ImageVariant, quant: InputQuant, sensor) -> tuple[str, str, int]:
    eff = effective_spec(spec, variant)
    c = spec.channels
    order = list(range(c))
    if eff.color_order == "bgr":
        order = order[::-1]
    if variant.swap_red_blue and c == 3:
        order = [2 - i for i in order]
    mean = np.asarray(eff.mean, np.float64)
    std = np.asarray(eff.std, np.float64)
    # Integer normalisation: q = (p * mul + add) >> 16 approximates p / (std*scale) + zp - mean / (std*scale).
    a = 1.0 / (std * quant.scale)
    mul = np.round(a * 65536.0).astype(np.int64)
    add = np.round((quant.zero_point - mean * a) * 65536.0).astype(np.int64)
    if np.any(np.abs(mul) * 255 + np.abs(add) >= 2 ** 31):
        raise UserError(f"preprocessing.std: {list(eff.std)} with input scale {quant.scale:g} overflows the "
                        f"fixed-point normalisation; std*scale must be >= ~1/8000")
    src_w, src_h = (int(sensor[1]), int(sensor[0])) if sensor else (0, 0)
    cfg = f"""\
#define EK_FE_KIND_AUDIO 0
#define EK_FE_KIND_IMAGE 1
#define EK_FE_IMAGE_WIDTH {spec.width}
#define EK_FE_IMAGE_HEIGHT {spec.height}
#define EK_FE_IMAGE_CHANNELS {c}
#define EK_FE_IMAGE_SRC_W {src_w}
#define EK_FE_IMAGE_SRC_H {src_h}
#define EK_FE_RESIZE_NEAREST {1 if eff.resize == "nearest" else 0}
#define EK_FE_SQUARE_CROP {1 if eff.square_crop else 0}
#define EK_FE_CROP_FRACTION_LT_1 {1 if eff.crop_fraction < 1.0 else 0}
#define EK_FE_CROP_FRACTION {float(eff.crop_fraction)!r}
#define EK_FE_INT_NORMALISE {1 if variant.integer_normalisation else 0}

extern const uint8_t ek_fe_channel_source[{c}];
extern const float ek_fe_mean[{c}];
extern const float ek_fe_std[{c}];
extern const int32_t ek_fe_norm_mul_q16[{c}];
extern const int32_t ek_fe_norm_add_q16[{c}];
"""
    tables = "".join([
        _array("uint8_t", "ek_fe_channel_source", order, str),
        _array("float", "ek_fe_mean", mean, _c_float),
        _array("float", "ek_fe_std", std, _c_float),
        _array("int32_t", "ek_fe_norm_mul_q16", mul, str),
        _array("int32_t", "ek_fe_norm_add_q16", add, str),
    ])
    return cfg, tables, 17 * c


def default_sensor(model_spec) -> Optional[tuple[int, int]]:
    """(height, width) of the largest camera frame of the model's dataset generator, if it
    declares its sensors (edgekit.data.fashion_camera.SENSORS); None otherwise."""
    name = getattr(model_spec, "dataset", None)
    if not name or getattr(getattr(model_spec, "preprocessing", None), "kind", None) != "image":
        return None
    import importlib

    try:
        mod = importlib.import_module("edgekit.data." + name.replace("-", "_"))
    except ImportError:
        return None
    sensors = getattr(mod, "SENSORS", None) or ()
    frames = [(int(s.height), int(s.width)) for s in sensors if hasattr(s, "width") and hasattr(s, "height")]
    return max(frames, key=lambda hw: hw[0] * hw[1]) if frames else None


def default_raw_capacity(pre_spec, sensor: Optional[tuple[int, int]]) -> int:
    if pre_spec.kind == "mfcc":
        return 2 * pre_spec.clip_samples
    h, w = sensor if sensor else (2 * pre_spec.height, 2 * pre_spec.width)  # frames up to 2x the input's side
    return IMAGE_HEADER_BYTES + 3 * h * w


IMAGE_HEADER_BYTES = 8


def generate(pre_spec, variant: FrontendVariant, quant: InputQuant, out_dir: Path,
             sensor: Optional[tuple[int, int]] = None, raw_capacity: Optional[int] = None) -> FrontendSources:
    """Write the frontend's config header and tables for (spec, variant, input quantization).

    pre_spec: the model's preprocessing spec (AudioSpec/ImageSpec) or a ModelSpec holding it
      (a ModelSpec also gives the default sensor of its dataset).
    sensor: (height, width) of the camera frames the firmware accepts without a size header.
    raw_capacity: bytes of the raw input buffer; default one clip, or header + one sensor frame.
    """
    if sensor is None and hasattr(pre_spec, "preprocessing"):
        sensor = default_sensor(pre_spec)
    pre_spec = getattr(pre_spec, "preprocessing", pre_spec)
    kind = pre_spec.kind
    if (kind == "mfcc") != isinstance(variant, AudioVariant):
        raise UserError(f"firmware variant {variant.name}: made for another kind of preprocessing than {kind}")
    if sensor is not None and (len(sensor) != 2 or min(sensor) < 1 or max(sensor) > 65535):
        raise UserError(f"sensor resolution {sensor}: need (height, width) between 1 and 65535")
    sensor = tuple(int(v) for v in sensor) if sensor else None
    capacity = int(raw_capacity) if raw_capacity is not None else default_raw_capacity(pre_spec, sensor)
    if capacity < 1:
        raise UserError(f"raw_capacity: {capacity} bytes; give the size of the largest raw input")
    h = spec_hash(pre_spec, variant, quant, sensor)
    if kind == "mfcc":
        body, tables, nbytes = _audio_files(pre_spec, variant, quant, h)
    else:
        body, tables, nbytes = _image_files(pre_spec, variant, quant, sensor)
    inv_scale = 1.0 / quant.scale
    header = f"""\
/* Generated by edgekit.frontends.generate() from the model's preprocessing spec: do not edit.
 * variant: {variant.name}: {variant.description}
 */
#ifndef EK_FRONTEND_CONFIG_H
#define EK_FRONTEND_CONFIG_H

#include <stdint.h>

#define EK_FE_VARIANT "{variant.name}"
#define EK_FE_SPEC_HASH "{h}"
#define EK_FE_INPUT_SCALE {_c_float(quant.scale)}
#define EK_FE_INPUT_INV_SCALE {_c_float(inv_scale)}
#define EK_FE_INPUT_SCALE_D {float(quant.scale)!r} /* double, as the reference divides */
#define EK_FE_INPUT_ZERO_POINT {int(quant.zero_point)}
#define EK_FE_RAW_CAPACITY {capacity}
{body}
#endif
"""
    out_dir = Path(out_dir)
    write_atomic(out_dir / CONFIG_HEADER, header)
    write_atomic(out_dir / TABLES_SOURCE,
                  f"/* Generated by edgekit.frontends.generate(): do not edit. */\n"
                  f"#include \"{CONFIG_HEADER}\"\n\n{tables}")
    return FrontendSources(
        kind=kind, variant=variant.name, spec_hash=h,
        sources=[*library_sources(), out_dir / TABLES_SOURCE],
        include_dirs=[frontend_src_dir() / "include", out_dir],
        defines={}, static_tables_bytes=nbytes, raw_capacity=capacity, sensor=sensor,
    )
