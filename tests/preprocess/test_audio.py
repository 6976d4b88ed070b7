"""The MFCC reference against an independent computation (tf.signal), to tight tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.models import load_model
from edgekit.preprocess import AudioSpec, apply
from edgekit.preprocess.audio import log_mel, mfcc


def _tf_mfcc(spec: AudioSpec, pcm: np.ndarray) -> np.ndarray:
    """MFCC with tf.signal only (float64): stft -> |.| or |.|^2 -> mel -> log -> DCT-II ortho."""
    import tensorflow as tf

    x = np.zeros(spec.clip_samples)
    x[: min(len(pcm), spec.clip_samples)] = pcm[: spec.clip_samples].astype(np.float64) / 32768.0
    win = tf.signal.hann_window if spec.window == "hann" else tf.signal.hamming_window
    stft = tf.signal.stft(tf.constant(x, tf.float64), frame_length=spec.window_samples,
                          frame_step=spec.stride_samples, fft_length=spec.fft_size,
                          window_fn=lambda n, dtype: win(n, periodic=True, dtype=dtype), pad_end=False)
    mag = tf.abs(stft)
    if spec.spectrum == "power":
        mag = mag * mag
    mel_w = tf.signal.linear_to_mel_weight_matrix(spec.mel_bins, spec.fft_size // 2 + 1, spec.sample_rate_hz,
                                                  spec.lower_hz, spec.upper_hz, dtype=tf.float64)
    logmel = tf.math.log(tf.matmul(mag, mel_w) + spec.log_offset)
    return tf.signal.dct(logmel, type=2, norm="ortho")[:, : spec.dct_coefficients].numpy()


def _signals(rng):
    t = np.arange(16000) / 16000
    chirp = 0.3 * np.sin(2 * np.pi * (100 + 1800 * t) * t)
    speechlike = np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t)) * 0.2 + 0.01 * rng.standard_normal(16000)
    return {
        "noise": (rng.standard_normal(16000) * 3000).astype(np.int16),
        "chirp": (chirp * 32767).astype(np.int16),
        "speechlike": (speechlike * 32767).astype(np.int16),
        "short": (rng.standard_normal(9000) * 800).astype(np.int16),  # zero-padded to 1 s
        "silence": np.zeros(16000, np.int16),
    }


KWS = load_model("kws").preprocessing


@pytest.mark.parametrize("variant", [
    {}, {"spectrum": "power"}, {"window": "hamming"}, {"mel_bins": 32, "dct_coefficients": 13, "upper_hz": 7600},
    {"window_samples": 480, "stride_samples": 160, "fft_size": 512},
], ids=["kws", "power", "hamming", "mel32", "30ms-window"])
def test_mfcc_matches_tf_signal(variant):
    spec = KWS.model_copy(update=variant)
    spec = AudioSpec.model_validate(spec.model_dump())
    rng = np.random.default_rng(1)
    for name, pcm in _signals(rng).items():
        ours = mfcc(spec, pcm)
        ref = _tf_mfcc(spec, pcm)
        assert ours.shape == spec.output_shape
        assert ours.dtype == np.float32
        # float32 output of a float64 computation: differences are float32 rounding only.
        np.testing.assert_allclose(ours[:, :, 0], ref, rtol=1e-5, atol=2e-4, err_msg=f"{name} {variant}")


def test_kws_spec_is_mlperf_shape():
    assert KWS.output_shape == (49, 10, 1)
    assert apply(KWS, np.zeros(16000, np.int16)).shape == (49, 10, 1)


def test_log_mel_of_silence_is_log_offset():
    assert np.allclose(log_mel(KWS, np.zeros(16000, np.int16)), np.log(KWS.log_offset))


def test_clip_is_cut_to_clip_samples():
    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal(20000) * 1000).astype(np.int16)
    np.testing.assert_array_equal(mfcc(KWS, pcm), mfcc(KWS, pcm[:16000]))


def test_apply_accepts_model_spec_and_rejects_unknown_kind():
    spec = load_model("kws")
    pcm = np.arange(16000, dtype=np.int16)
    np.testing.assert_array_equal(apply(spec, pcm), apply(spec.preprocessing, pcm))
    with pytest.raises(ValueError):
        apply(object(), pcm)


@pytest.mark.parametrize("bad", [{"fft_size": 600}, {"upper_hz": 9000}, {"dct_coefficients": 50},
                                 {"window_samples": 20000}])
def test_inconsistent_spec_is_rejected(bad):
    with pytest.raises(ValueError):
        AudioSpec.model_validate({**KWS.model_dump(), **bad})


def test_bad_spec_in_model_yaml_is_a_user_error(tmp_path):
    import yaml

    raw = yaml.safe_load((load_model("kws").folder / "model.yaml").read_text())
    raw["preprocessing"]["fft_size"] = 600
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(UserError, match="model.yaml"):
        load_model(str(tmp_path))


def test_apply_batch_equals_apply_per_clip():
    from edgekit.preprocess import apply_batch

    rng = np.random.default_rng(2)
    clips = [(rng.standard_normal(n) * 2000).astype(np.int16) for n in (16000, 12000, 17000)]
    np.testing.assert_array_equal(apply_batch(KWS, clips), np.stack([apply(KWS, c) for c in clips]))
