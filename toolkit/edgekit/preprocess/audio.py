"""Audio preprocessing spec and its Python reference: raw 16 kHz PCM -> MFCC features."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AudioSpec(BaseModel):
    """Every number that turns a raw clip into the model's input tensor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["mfcc"] = "mfcc"
    sample_rate_hz: int = Field(16000, gt=0)
    clip_samples: int = Field(16000, gt=0, description="clips are padded or cut to this length")
    window_samples: int = Field(640, gt=0, description="frame length (40 ms at 16 kHz)")
    stride_samples: int = Field(320, gt=0, description="hop between frames (20 ms at 16 kHz)")
    fft_size: int = Field(1024, gt=0)
    window: Literal["hann", "hamming"] = "hann"
    mel_bins: int = Field(40, gt=0)
    lower_hz: float = Field(20.0, ge=0)
    upper_hz: float = Field(4000.0, gt=0)
    log_offset: float = Field(1e-6, gt=0, description="added before the natural log")
    dct_coefficients: int = Field(10, gt=0)

    @property
    def frames(self) -> int:
        return 1 + (self.clip_samples - self.window_samples) // self.stride_samples

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return (self.frames, self.dct_coefficients, 1)
