"""A keyword-spotting app's audio preprocessing in Python, as its team re-implemented the
MFCC (numpy, their own framing and filterbank code path via edgekit's tables for the mel
and DCT matrices, so only the planted steps differ).

    edgekit skew -m kws -t cortex-m4 --frontend-python audio_pipeline.py:app_v1      # faithful
    edgekit skew -m kws -t cortex-m4 --frontend-python audio_pipeline.py:headroom_bug  # planted
    edgekit skew -m kws -t cortex-m4 --frontend-python audio_pipeline.py:agc_bug       # planted
    edgekit skew -m kws -t cortex-m4 --frontend-python audio_pipeline.py:power_bug     # planted

- app_v1: the MFCC of the model's spec, step by step.
- headroom_bug: on the telephone-mic devices the app scales the PCM down by 64 for
  fixed-point headroom before the FFT and never undoes it: a level 36 dB below the spec's.
  The float model, trained across levels, shrugs most of it off; the 0th MFCC coefficient
  leaves the range the int8 model was calibrated for and clips at -128 (the interaction).
- power_bug: on the telephone-mic devices the app takes the log of the power spectrum
  (|X|^2) where the spec takes the magnitude: every log-mel value doubles.
- agc_bug: on the telephone-mic devices an automatic gain stage adds 24 dB before the
  MFCC, clipping the PCM itself: harmful in float and in int8 alike (no interaction).
"""

from __future__ import annotations

import numpy as np

from edgekit.models import load_model
from edgekit.preprocess.audio import dct_matrix, fit_clip, mel_matrix, window

SPEC = load_model("kws").preprocessing


def _mfcc(pcm: np.ndarray, power: bool = False, headroom: float = 1.0) -> np.ndarray:
    x = fit_clip(SPEC, pcm) / headroom
    n = SPEC.frames
    frames = np.stack([x[i * SPEC.stride_samples:i * SPEC.stride_samples + SPEC.window_samples]
                       for i in range(n)]) * window(SPEC)
    mag = np.abs(np.fft.rfft(frames, n=SPEC.fft_size, axis=-1))
    spect = mag * mag if power else mag
    logmel = np.log(spect @ mel_matrix(SPEC) + SPEC.log_offset)
    return (logmel @ dct_matrix(SPEC)).astype(np.float32)[..., None]


def app_v1(raw: np.ndarray, cohort: dict) -> np.ndarray:
    return _mfcc(raw)


def headroom_bug(raw: np.ndarray, cohort: dict) -> np.ndarray:
    return _mfcc(raw, headroom=64.0 if cohort.get("mic") == "telephone" else 1.0)


def power_bug(raw: np.ndarray, cohort: dict) -> np.ndarray:
    return _mfcc(raw, power=cohort.get("mic") == "telephone")


def agc_bug(raw: np.ndarray, cohort: dict) -> np.ndarray:
    if cohort.get("mic") == "telephone":
        raw = np.clip(raw.astype(np.float64) * 16.0, -32768, 32767).astype(np.int16)
    return _mfcc(raw)
