"""Audio preprocessing spec and its Python reference: raw 16 kHz PCM -> MFCC features.

The reference, exactly (a device frontend must reproduce this; skew is a difference from it):

1. x = int16 PCM / 32768, as float64; cut or zero-padded at the end to `clip_samples`.
2. frames t = 0..F-1 with F = 1 + (clip_samples - window_samples) // stride_samples;
   frame t = x[t*stride : t*stride + window] (no centering, no padding beyond the clip).
3. multiply by a PERIODIC window of length window_samples:
   hann:    w[n] = 0.5 - 0.5*cos(2*pi*n/N)
   hamming: w[n] = 0.54 - 0.46*cos(2*pi*n/N)
4. real FFT of size fft_size (the frame zero-padded at the end): bins k = 0..fft_size/2.
5. spectrum: |X_k| ("magnitude") or |X_k|^2 ("power").
6. mel filterbank, HTK mel scale mel(f) = 1127*ln(1 + f/700), exactly as
   tf.signal.linear_to_mel_weight_matrix: bin k sits at f_k = k * (sr/2) / (fft_size/2);
   mel_bins+2 edges evenly spaced in mel from mel(lower_hz) to mel(upper_hz); triangle
   weight max(0, min((m_k - m_lo)/(m_c - m_lo), (m_hi - m_k)/(m_hi - m_c))); the DC bin
   (k = 0) has weight 0.
7. log: ln(mel_energy + log_offset) (natural log).
8. orthonormal DCT-II over the mel axis: c_j = s_j * sum_m L_m cos(pi*j*(2m+1)/(2M)),
   s_0 = sqrt(1/M), s_j = sqrt(2/M); keep j = 0..dct_coefficients-1.
Output float32 [frames, dct_coefficients, 1].
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class AudioSpec(BaseModel):
    """Every number that turns a raw clip into the model's input tensor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["mfcc"] = "mfcc"
    sample_rate_hz: int = Field(16000, gt=0)
    clip_samples: int = Field(16000, gt=0, description="clips are padded or cut to this length")
    window_samples: int = Field(640, gt=0, description="frame length (40 ms at 16 kHz)")
    stride_samples: int = Field(320, gt=0, description="hop between frames (20 ms at 16 kHz)")
    fft_size: int = Field(1024, gt=0)
    window: Literal["hann", "hamming"] = Field("hann", description="periodic window")
    spectrum: Literal["magnitude", "power"] = Field("magnitude", description="|X| or |X|^2 before the mel filterbank")
    mel_bins: int = Field(40, gt=0)
    lower_hz: float = Field(20.0, ge=0)
    upper_hz: float = Field(4000.0, gt=0)
    log_offset: float = Field(1e-6, gt=0, description="added before the natural log")
    dct_coefficients: int = Field(10, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> "AudioSpec":
        if self.window_samples > self.clip_samples:
            raise ValueError("window_samples must not exceed clip_samples")
        if self.fft_size < self.window_samples or self.fft_size & (self.fft_size - 1):
            raise ValueError("fft_size must be a power of two >= window_samples")
        if not self.lower_hz < self.upper_hz <= self.sample_rate_hz / 2:
            raise ValueError("need lower_hz < upper_hz <= sample_rate_hz/2")
        if self.dct_coefficients > self.mel_bins:
            raise ValueError("dct_coefficients must not exceed mel_bins")
        return self

    @property
    def frames(self) -> int:
        return 1 + (self.clip_samples - self.window_samples) // self.stride_samples

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.frames, self.dct_coefficients, 1)


def hz_to_mel(f):
    return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)


def window(spec: AudioSpec) -> np.ndarray:
    n = np.arange(spec.window_samples, dtype=np.float64)
    c = np.cos(2.0 * np.pi * n / spec.window_samples)
    return 0.5 - 0.5 * c if spec.window == "hann" else 0.54 - 0.46 * c


@lru_cache(maxsize=8)
def _mel_matrix_cached(sr: int, fft_size: int, mel_bins: int, lower: float, upper: float) -> np.ndarray:
    n_bins = fft_size // 2 + 1
    f = np.arange(n_bins, dtype=np.float64) * (sr / 2.0) / (fft_size // 2)
    m = hz_to_mel(f)
    edges = np.linspace(hz_to_mel(lower), hz_to_mel(upper), mel_bins + 2)
    lo, ctr, hi = edges[:-2], edges[1:-1], edges[2:]
    up_slope = (m[:, None] - lo[None, :]) / (ctr - lo)[None, :]
    down_slope = (hi[None, :] - m[:, None]) / (hi - ctr)[None, :]
    w = np.maximum(0.0, np.minimum(up_slope, down_slope))
    w[0, :] = 0.0  # DC carries no speech and tf.signal drops it too
    w.setflags(write=False)
    return w


def mel_matrix(spec: AudioSpec) -> np.ndarray:
    """[fft_size/2+1, mel_bins] float64 triangle weights."""
    return _mel_matrix_cached(spec.sample_rate_hz, spec.fft_size, spec.mel_bins,
                              float(spec.lower_hz), float(spec.upper_hz))


@lru_cache(maxsize=8)
def _dct_cached(mel_bins: int, n_coeffs: int) -> np.ndarray:
    m = np.arange(mel_bins, dtype=np.float64)
    j = np.arange(n_coeffs, dtype=np.float64)
    d = np.cos(np.pi * j[None, :] * (2 * m[:, None] + 1) / (2 * mel_bins))
    scale = np.full(n_coeffs, np.sqrt(2.0 / mel_bins))
    scale[0] = np.sqrt(1.0 / mel_bins)
    d = d * scale[None, :]
    d.setflags(write=False)
    return d


def dct_matrix(spec: AudioSpec) -> np.ndarray:
    """[mel_bins, dct_coefficients] float64 orthonormal DCT-II basis."""
    return _dct_cached(spec.mel_bins, spec.dct_coefficients)


def fit_clip(spec: AudioSpec, pcm: np.ndarray) -> np.ndarray:
    """int16 PCM [..., samples] -> float64 in [-1, 1), cut or zero-padded to clip_samples."""
    x = np.asarray(pcm)
    x = x.astype(np.float64) / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)
    out = np.zeros(x.shape[:-1] + (spec.clip_samples,), np.float64)
    n = min(x.shape[-1], spec.clip_samples)
    out[..., :n] = x[..., :n]
    return out


def log_mel(spec: AudioSpec, pcm: np.ndarray) -> np.ndarray:
    """Steps 1-7: float64 [..., frames, mel_bins] for PCM [..., samples]."""
    x = fit_clip(spec, pcm)
    idx = (np.arange(spec.frames)[:, None] * spec.stride_samples
           + np.arange(spec.window_samples)[None, :])
    frames = x[..., idx] * window(spec)
    mag = np.abs(np.fft.rfft(frames, n=spec.fft_size, axis=-1))
    spect = mag if spec.spectrum == "magnitude" else mag * mag
    return np.log(spect @ mel_matrix(spec) + spec.log_offset)


def mfcc_batch(spec: AudioSpec, pcm: np.ndarray) -> np.ndarray:
    """The reference on a batch: int16 PCM [N, samples] -> float32 [N, frames, dct_coefficients, 1]."""
    return (log_mel(spec, pcm) @ dct_matrix(spec)).astype(np.float32)[..., None]


def mfcc(spec: AudioSpec, pcm: np.ndarray) -> np.ndarray:
    """The reference: int16 PCM [samples] -> float32 [frames, dct_coefficients, 1]."""
    return mfcc_batch(spec, np.asarray(pcm).reshape(1, -1))[0]
