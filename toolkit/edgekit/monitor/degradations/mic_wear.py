"""mic-wear: a MEMS microphone degrading in the field (dust in the port, moisture): its
sensitivity falls (up to 18 dB at level 1) and its self-noise rises (white noise up to
-42 dBFS RMS at level 1), on int16 PCM."""

from __future__ import annotations

import numpy as np

MAX_LOSS_DB = 18.0
MAX_NOISE_DBFS = -42.0


def make(level: float):
    gain = 10.0 ** (-MAX_LOSS_DB * level / 20.0)
    noise_rms = 32768.0 * 10.0 ** (MAX_NOISE_DBFS / 20.0) * level

    def degrade(raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(raw, np.float64) * gain + rng.normal(0.0, noise_rms, size=np.shape(raw))
        return np.clip(np.round(x), -32768, 32767).astype(np.int16)

    return degrade
