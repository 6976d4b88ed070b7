"""The espeak-ng keyword-spotting generator: real espeak-ng, small runs."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from edgekit.data import kws_espeak as kws

pytestmark = pytest.mark.skipif(not kws.espeak_available(), reason="espeak-ng is a required system package")


def _digest(pcm: np.ndarray) -> str:
    return hashlib.sha256(pcm.tobytes()).hexdigest()


def test_different_voices_give_different_audio():
    a = kws.espeak("left", "en-us+m1")
    b = kws.espeak("left", "en-us+f2")
    c = kws.espeak("left", "en-us+klatt3")
    assert len({_digest(a), _digest(b), _digest(c)}) == 3
    # Every variant and accent the generator uses is really a different voice.
    kws.check_voices([v for vs in kws.VOICES.values() for v in vs])
    assert len({_digest(kws.espeak(" ".join(kws.KEYWORDS), a)) for a in kws.ACCENTS}) == len(kws.ACCENTS)


def test_voice_check_catches_espeak_silent_fallback():
    # espeak-ng exits 0 and speaks with its default voice for a variant it cannot find.
    with pytest.raises(RuntimeError, match="fell back"):
        kws.check_voices(["m1", "no-such-variant"])


def test_plan_is_deterministic_and_seed_dependent():
    a, b, c = kws.plan(0), kws.plan(0), kws.plan(1)
    assert a == b
    assert [x.speaker for x in a] != [x.speaker for x in c]
    counts = {s: sum(1 for x in a if x.split == s) for s in ("train", "val", "test")}
    assert counts == {s: n * len(kws.LABELS) for s, n in kws.PER_CLASS.items()}
    assert 1200 <= counts["test"] <= 2000  # the whole test split must run on QEMU


def test_splits_hold_out_speakers_accents_and_voices():
    clips = kws.plan(0)
    by = {s: [c for c in clips if c.split == s] for s in ("train", "val", "test")}
    spk = {s: {c.speaker.id for c in v} for s, v in by.items()}
    assert not spk["train"] & spk["test"] and not spk["train"] & spk["val"] and not spk["val"] & spk["test"]
    train_accents = {c.speaker.accent for c in by["train"]}
    train_voices = {c.speaker.voice for c in by["train"]}
    for held in ("val", "test"):
        accents = {c.speaker.accent for c in by[held]}
        assert accents - train_accents, f"{held} has no accent of its own"
        assert not {c.speaker.voice for c in by[held]} & train_voices
    # Half of the test speakers have an unseen accent, half a seen one with an unseen voice.
    unseen = sum(c.speaker.accent not in train_accents for c in by["test"]) / len(by["test"])
    assert 0.35 < unseen < 0.65


def test_render_is_deterministic_and_labelled():
    clips = kws.plan(0)
    babble = kws.make_babble(0, n_tracks=2, talkers=3, per_track=2)
    keyword = next(c for c in clips if kws.LABELS[c.label] == "yes")
    silence = next(c for c in clips if kws.LABELS[c.label] == "_silence_")
    p1, m1 = kws.render(keyword, babble)
    p2, m2 = kws.render(keyword, babble)
    assert p1.dtype == np.int16 and p1.shape == (16000,)
    assert _digest(p1) == _digest(p2) and m1 == m2
    assert m1["word"] == "yes" and m1["speaker"] == keyword.speaker.id
    ps, ms = kws.render(silence, babble)
    assert ms["word"] == "(none)"
    # The keyword clip carries speech well above its noise floor; silence is only noise.
    loud = np.max(np.abs(p1.astype(float)))
    assert loud > 200


def test_noise_colours_have_their_spectral_slope():
    rng = np.random.default_rng(0)
    f = np.fft.rfftfreq(16000, 1 / 16000)
    low, high = (f > 100) & (f < 400), (f > 3000) & (f < 6000)
    ratios = {}
    for kind in ("white", "pink", "brown"):
        p = np.abs(np.fft.rfft(kws.colored_noise(kind, 16000, rng))) ** 2
        ratios[kind] = 10 * np.log10(p[low].mean() / p[high].mean())
        assert np.isclose(np.sqrt(np.mean(kws.colored_noise(kind, 16000, rng) ** 2)), 1.0)
    assert abs(ratios["white"]) < 2 and 8 < ratios["pink"] < 16 and ratios["brown"] > 20


def test_microphones_differ_as_specified():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    low_tone = 0.1 * np.sin(2 * np.pi * 120 * t)
    assert np.array_equal(kws.microphone("flat", low_tone, rng), low_tone)
    tel = kws.microphone("telephone", low_tone, rng)
    assert np.sqrt(np.mean(tel[4000:] ** 2)) < 0.2 * np.sqrt(np.mean(low_tone ** 2))  # band-limited
    loud = 0.3 * np.sin(2 * np.pi * 1000 * t)
    mems = kws.microphone("mems", loud, rng)
    assert np.max(mems) <= 32767 / 32768 and np.mean(np.abs(mems) >= 0.999) > 0.1  # gain and clipping


def test_generate_is_deterministic(tmp_path):
    a = kws.generate(tmp_path / "a", seed=3, limit=2, workers=1)
    b = kws.generate(tmp_path / "b", seed=3, limit=2, workers=1)
    assert [r.id for r in a] == [r.id for r in b] and len(a) == 6
    for ra, rb in zip(a, b):
        assert ra.path.read_bytes() == rb.path.read_bytes()
        assert ra.cohort == rb.cohort
        pcm = kws.load_raw(ra.path)
        assert pcm.dtype == np.int16 and pcm.shape == (16000,)
