"""Keyword-spotting data synthesized with espeak-ng, Speech-Commands style, with cohorts.

12 classes: _silence_, _unknown_ (other words, some confusable with the keywords) and ten
keywords. 1 s, 16 kHz mono int16 wav files.

A clip is made like this (every random choice from a per-clip seed, so the dataset is
deterministic for a seed, and a `limit`ed dataset is a prefix of the full one):

  speaker   = accent (an espeak-ng English voice) + voice variant (espeak `+variant`) +
              pitch (-p) + speed (-s) + a resampling "warp" that scales formants and pitch
              together (a shorter or longer vocal tract)
  speech    = espeak-ng at 22.05 kHz -> resampled to 16 kHz / warp -> trimmed -> placed at a
              random offset in the 1 s clip -> scaled to a random speech level (dBFS)
  room      = dry, or convolved with a synthetic room impulse response (small / large room)
  noise     = white, pink, brown or babble (other espeak speech, no keywords) at an SNR in dB
              relative to the speech level (for _silence_ clips: the same level, no speech)
  mic       = flat (ideal), telephone (300-3400 Hz band, 8-bit mu-law) or mems (cheap MEMS
              part: high-pass, presence peak, high analog gain with hard clipping, self-noise)

Splits hold out speakers AND accents: validation and test speakers never occur in training;
validation has one accent of its own, test two, and test/val use voice variants that
training never hears. Metadata per clip: accent, voice, speaker, snr_db, noise, mic, room,
word, split.
"""

from __future__ import annotations

import os
import subprocess
import wave
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np

GENERATOR_VERSION = 3
SR = 16000
CLIP = 16000
ESPEAK_SR = 22050

LABELS = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
KEYWORDS = LABELS[2:]
# Other words: the first ones are confusable with a keyword (yes/yet, no/snow, up/cup, ...) but
# never a homophone ("know", "write") nor containing one ("left over"): those would be labels
# no model can get right. (Version 2 had know, left over and write in these three places.)
UNKNOWN_WORDS = [
    "yet", "yeah", "snow", "note", "nose", "cup", "pup", "town", "dawn", "lift", "loft", "light",
    "ride", "bright", "own", "one", "of", "often", "top", "stock", "goal", "though", "dog", "bed",
    "bird", "cat", "eight", "five", "four", "happy", "house", "learn", "marvin", "nine", "seven",
    "sheila", "six", "three", "tree", "two", "wow", "zero", "follow", "forward", "backward", "visual",
]
# Babble is made of sentences without keywords, so background talk never carries a label.
BABBLE_TEXT = [
    "the weather was quite cold this morning", "please pass me the salt and pepper",
    "we will meet at the station after lunch", "my sister bought a new bicycle last week",
    "this coffee tastes a little bitter today", "they are painting the kitchen blue",
    "the train to the city was very late", "i think the meeting has been moved",
    "can you hear the birds in the garden", "the children are playing with a ball",
    "she reads a book every evening", "the market sells fresh bread and cheese",
]

# espeak-ng English voices (accents). Splits: validation and test each have accents of their own,
# regional variants of accent families that training covers (RP next to en-gb, New York next
# to en-us, Lancaster next to the other English regions): an unseen accent of a known language
# variety, the realistic case. (Version 1 held out Caribbean and West Midlands English, which
# espeak-ng pronounces so differently that the held-out half of the test split measured
# pronunciation rules never seen, ~50% top-1, rather than speaker generalization.)
ACCENTS = {
    "en-gb": "train", "en-us": "train", "en-gb-scotland": "train", "en-029": "train",
    "en-gb-x-gbcwmd": "train", "en-gb-x-gbclan": "val", "en-gb-x-rp": "test", "en-us-nyc": "test",
}
# espeak-ng voice variants (espeak-ng-data/voices/!v), held out per split like the accents.
VOICES = {
    "train": ["m1", "m2", "m3", "m4", "m5", "m8", "f1", "f2", "f3", "klatt", "klatt2", "klatt3",
              "Alex", "Andy", "Denis", "Gene", "Jacky", "Lee", "Marco", "Michael", "Mike", "adam",
              "anika", "aunty", "belinda", "benjamin", "Alicia", "david", "ed", "edward", "grandma",
              "iven", "john", "max", "michel", "norbert", "pablo", "paul", "pedro", "quincy", "rob",
              "robert", "sandro", "shelby", "travis", "zac"],
    "val": ["m6", "f5", "klatt5", "linda", "boris"],
    "test": ["m7", "f4", "klatt4", "Annie", "grandpa", "steph", "victor", "Hugo"],
}
# Clips per class and speakers per split (test ~1,500 clips: the whole split runs on QEMU).
PER_CLASS = {"train": 800, "val": 100, "test": 125}
SPEAKERS = {"train": 400, "val": 30, "test": 40}
# Test and validation speakers: this share uses an accent held out from training.
HELD_OUT_ACCENT_SHARE = 0.5

NOISES = ["white", "pink", "brown", "babble"]
SNRS_DB = [5.0, 10.0, 20.0, 40.0]
SNR_P = [0.15, 0.25, 0.3, 0.3]
MICS = ["flat", "telephone", "mems"]
ROOMS = {"dry": 0.0, "small": 0.25, "large": 0.6}  # RT60 in seconds
ROOM_P = [0.4, 0.35, 0.25]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Speaker:
    id: str
    accent: str
    voice: str
    pitch: int  # espeak -p, 0..99
    speed: int  # espeak -s, words per minute
    warp: float  # >1: higher formants and pitch (shorter vocal tract)


@dataclass(frozen=True)
class ClipPlan:
    id: str
    split: str
    label: int
    word: str  # "" for _silence_
    speaker: Speaker
    seed: int  # everything random inside the clip comes from this


# ----------------------------------------------------------------------------- espeak

def espeak_available() -> bool:
    try:
        subprocess.run(["espeak-ng", "--version"], capture_output=True, check=True, timeout=10)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def espeak(text: str, voice: str, pitch: int = 50, speed: int = 175) -> np.ndarray:
    """espeak-ng speech as float64 at 22.05 kHz. `voice` is "accent" or "accent+variant"."""
    try:
        proc = subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text],
                              capture_output=True, check=True, timeout=30)
    except FileNotFoundError:
        from edgekit.errors import UserError

        raise UserError("espeak-ng: not installed; `apt-get install espeak-ng` (or `make setup`)") from None
    return _wav_bytes_to_float(proc.stdout)


def _wav_bytes_to_float(b: bytes) -> np.ndarray:
    # espeak-ng streams its WAV with placeholder sizes (0x7fffffff), so take the data chunk
    # to the end of the output instead of trusting the header.
    i = b.find(b"data")
    if b[:4] != b"RIFF" or i < 0:
        raise RuntimeError("espeak-ng produced no WAV output")
    sr = int.from_bytes(b[24:28], "little")
    if sr != ESPEAK_SR:
        raise RuntimeError(f"espeak-ng produced {sr} Hz, expected {ESPEAK_SR}")
    pcm = np.frombuffer(b[i + 8:len(b) - ((len(b) - i - 8) % 2)], dtype="<i2")
    return pcm.astype(np.float64) / 32768.0


def check_voices(voices: list[str], accent: str = "en-us", word: str = "seven") -> None:
    """Every voice must sound different from the plain accent and from each other: espeak-ng
    silently falls back to its default voice when it cannot find (or, beyond ~349 voice
    files, cannot list) a variant."""
    seen: dict[bytes, str] = {espeak(word, accent).tobytes(): accent}
    for v in voices:
        key = espeak(word, f"{accent}+{v}").tobytes()
        if key in seen:
            raise RuntimeError(f"espeak-ng voice variant '{v}' gives the same audio as '{seen[key]}': "
                               f"the variant is missing or espeak-ng fell back to its default voice")
        seen[key] = v


# ----------------------------------------------------------------------------- signal helpers

@lru_cache(maxsize=64)
def _ratio(warp: float) -> tuple[int, int]:
    f = Fraction(SR / warp / ESPEAK_SR).limit_denominator(300)
    return f.numerator, f.denominator


def speech_16k(word: str, spk: Speaker) -> np.ndarray:
    """The speaker's word at 16 kHz, leading/trailing silence trimmed, peak-normalised."""
    from scipy.signal import resample_poly

    x = espeak(word, f"{spk.accent}+{spk.voice}", spk.pitch, spk.speed)
    up, down = _ratio(spk.warp)
    y = resample_poly(x, up, down)
    env = np.abs(y)
    thr = 0.02 * env.max() if env.size and env.max() > 0 else 0.0
    idx = np.flatnonzero(env > thr)
    if idx.size:
        y = y[max(0, idx[0] - 160):idx[-1] + 160]
    peak = np.max(np.abs(y)) if y.size else 0.0
    return y / peak if peak > 0 else y


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest: the level of the speech itself."""
    n = len(x) // 320
    if n == 0:
        return _rms(x)
    e = np.sqrt(np.mean(x[:n * 320].reshape(n, 320) ** 2, axis=1))
    act = e[e > e.max() * 10 ** (-30 / 20)]
    return float(np.sqrt(np.mean(act ** 2))) if act.size else _rms(x)


def colored_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink (1/f power) or brown (1/f^2 power, above 20 Hz) noise."""
    w = rng.standard_normal(n)
    if kind != "white":
        spec = np.fft.rfft(w)
        f = np.fft.rfftfreq(n, 1.0 / SR)
        f[0] = f[1]
        f = np.maximum(f, 20.0)
        spec /= np.sqrt(f) if kind == "pink" else f
        w = np.fft.irfft(spec, n)
    return w / (_rms(w) or 1.0)


def room_impulse(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Direct path + exponentially decaying diffuse tail (-60 dB at rt60), direct-to-reverb ~ +3 dB."""
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)
    tail[: int(0.003 * SR)] = 0.0  # first reflections arrive after a few ms
    tail *= 10 ** (-3 / 20) / (np.sqrt(np.sum(tail ** 2)) or 1.0)
    h = tail
    h[0] = 1.0
    return h


def mu_law_8bit(x: np.ndarray) -> np.ndarray:
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
    q = np.round(y * 127.0) / 127.0
    return np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu


def microphone(kind: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfilt, lfilter

    if kind == "flat":
        return x
    if kind == "telephone":
        sos = butter(4, [300.0, 3400.0], btype="bandpass", fs=SR, output="sos")
        return mu_law_8bit(sosfilt(sos, x))
    if kind == "mems":
        sos = butter(1, 180.0, btype="highpass", fs=SR, output="sos")
        y = sosfilt(sos, x)
        # Presence peak around 3 kHz (port resonance of a cheap package): +6 dB peaking EQ.
        w0 = 2 * np.pi * 3000.0 / SR
        a_gain, q = 10 ** (6 / 40), 1.2
        alpha = np.sin(w0) / (2 * q)
        b = [1 + alpha * a_gain, -2 * np.cos(w0), 1 - alpha * a_gain]
        a = [1 + alpha / a_gain, -2 * np.cos(w0), 1 - alpha / a_gain]
        y = lfilter(b, a, y)
        gain_db = float(rng.uniform(10.0, 18.0))
        y = y * 10 ** (gain_db / 20) + rng.standard_normal(len(y)) * 10 ** (-62 / 20)
        return np.clip(y, -1.0, 32767 / 32768)
    raise ValueError(f"unknown mic {kind!r}")


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


# ----------------------------------------------------------------------------- the plan

def _speakers(split: str, rng: np.random.Generator) -> list[Speaker]:
    own = [a for a, s in ACCENTS.items() if s == split]
    train_accents = [a for a, s in ACCENTS.items() if s == "train"]
    voices = VOICES[split]
    out = []
    for i in range(SPEAKERS[split]):
        # Alternate so that exactly HELD_OUT_ACCENT_SHARE of these speakers have an unseen accent.
        if split != "train" and own and (i * HELD_OUT_ACCENT_SHARE) % 1 + HELD_OUT_ACCENT_SHARE >= 1:
            accent = own[(i // 2) % len(own)]
        else:
            accent = train_accents[int(rng.integers(len(train_accents)))]
        # Voices cycle on i // 2 so that voice and held-out accent are not confounded.
        out.append(Speaker(id=f"{split}-spk{i:03d}", accent=accent, voice=voices[(i // 2) % len(voices)],
                           pitch=int(rng.integers(25, 76)), speed=int(rng.integers(130, 211)),
                           warp=round(float(rng.uniform(0.88, 1.14)), 3)))
    return out


def plan(seed: int) -> list[ClipPlan]:
    """Every clip of the dataset, in manifest order (per split, classes interleaved)."""
    clips: list[ClipPlan] = []
    for split_index, split in enumerate(("train", "val", "test")):
        rng = np.random.default_rng([seed, split_index, 0])
        speakers = _speakers(split, rng)
        spk_order = rng.permutation(len(speakers))
        n = 0
        for i in range(PER_CLASS[split]):
            for label, name in enumerate(LABELS):
                if name == "_silence_":
                    word = ""
                elif name == "_unknown_":
                    word = UNKNOWN_WORDS[int(rng.integers(len(UNKNOWN_WORDS)))]
                else:
                    word = name
                spk = speakers[spk_order[n % len(speakers)]]
                n += 1
                clip_seed = int(np.random.SeedSequence([seed, split_index, label, i]).generate_state(1)[0])
                clips.append(ClipPlan(id=f"{split}-{name.strip('_')}-{i:04d}", split=split, label=label,
                                      word=word, speaker=spk, seed=clip_seed))
    return clips


# ----------------------------------------------------------------------------- rendering

def make_babble(seed: int, n_tracks: int = 6, seconds: float = 6.0, talkers: int = 12,
                per_track: int = 5) -> np.ndarray:
    """[n_tracks, samples] unit-RMS babble: each track mixes `per_track` of `talkers` espeak
    talkers (random accent, variant, pitch, speed) reading sentences without keywords."""
    rng = np.random.default_rng([seed, 99])
    accents = list(ACCENTS)
    variants = [v for vs in VOICES.values() for v in vs]
    n = int(seconds * SR)
    streams = []
    for _ in range(talkers):
        spk = Speaker("babble", accents[int(rng.integers(len(accents)))], variants[int(rng.integers(len(variants)))],
                      int(rng.integers(25, 76)), int(rng.integers(140, 200)), 1.0)
        text = " ".join(BABBLE_TEXT[int(j)] for j in rng.choice(len(BABBLE_TEXT), 3, replace=False))
        talker = speech_16k(text, spk)
        streams.append(np.tile(talker, int(np.ceil(n / len(talker))) + 1))
    tracks = np.zeros((n_tracks, n))
    for t in range(n_tracks):
        for j in rng.choice(talkers, per_track, replace=False):
            off = int(rng.integers(len(streams[j]) - n))
            seg = streams[j][off:off + n]
            tracks[t] += seg / (_rms(seg) or 1.0)
        tracks[t] /= _rms(tracks[t]) or 1.0
    return tracks


def render(clip: ClipPlan, babble: np.ndarray) -> tuple[np.ndarray, dict]:
    """One clip: int16 [16000] and its cohort metadata."""
    rng = np.random.default_rng(clip.seed)
    noise = NOISES[int(rng.integers(len(NOISES)))]
    snr = float(rng.choice(SNRS_DB, p=SNR_P))
    mic = MICS[int(rng.integers(len(MICS)))]
    room = str(rng.choice(list(ROOMS), p=ROOM_P))
    level_db = float(rng.uniform(-32.0, -18.0))  # speech level at the mic, dBFS RMS
    level = 10 ** (level_db / 20)

    x = np.zeros(CLIP)
    if clip.word:
        s = speech_16k(clip.word, clip.speaker)
        if ROOMS[room] > 0:
            from scipy.signal import fftconvolve

            s = fftconvolve(s, room_impulse(ROOMS[room], rng))[: len(s) + int(0.3 * ROOMS[room] * SR)]
        s = s[:CLIP]
        off = int(rng.integers(0, CLIP - len(s) + 1))
        x[off:off + len(s)] = s * (level / (active_rms(s) or 1.0))
    if noise == "babble":
        track = babble[int(rng.integers(len(babble)))]
        off = int(rng.integers(0, len(track) - CLIP))
        nz = track[off:off + CLIP] / (_rms(track[off:off + CLIP]) or 1.0)
    else:
        nz = colored_noise(noise, CLIP, rng)
    x = x + nz * level * 10 ** (-snr / 20)
    x = microphone(mic, x, rng)
    spk = clip.speaker
    cohort = {"accent": spk.accent, "voice": spk.voice, "speaker": spk.id, "snr_db": snr, "noise": noise,
              "mic": mic, "room": room, "word": clip.word or "(none)", "level_dbfs": round(level_db, 1)}
    return to_int16(x), cohort


def write_wav(path: Path, pcm: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.astype("<i2").tobytes())


def load_raw(path: Path) -> np.ndarray:
    """int16 PCM of a 16 kHz mono wav."""
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != SR:
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit wav")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


_WORKER: dict = {}


def _worker_init(babble_path: str, niceness: int) -> None:
    try:
        os.nice(niceness)
    except OSError:
        pass
    _WORKER["babble"] = np.load(babble_path)


def _render_to_file(args: tuple[ClipPlan, str]) -> tuple[str, dict]:
    clip, path = args
    pcm, cohort = render(clip, _WORKER["babble"])
    write_wav(Path(path), pcm)
    return clip.id, cohort


def generate(out_dir: Path, seed: int = 0, limit: Optional[int] = None,
             progress: Optional[Progress] = None, workers: Optional[int] = None) -> list:
    """Synthesize the dataset into out_dir/audio/<split>/<label>/<id>.wav; returns the records."""
    from edgekit.data import SampleRecord
    from edgekit.errors import UserError

    if not espeak_available():
        raise UserError("espeak-ng: not installed; `apt-get install espeak-ng` (or `make setup`)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_voices([v for vs in VOICES.values() for v in vs])
    # Some accents differ only on a few vowels (en-us-nyc: "on", "off", "stop"): compare on all keywords.
    if len({espeak(" ".join(KEYWORDS), a).tobytes() for a in ACCENTS}) != len(ACCENTS):
        raise RuntimeError("espeak-ng: two accents give identical audio; an English voice is missing")

    clips = plan(seed)
    if limit is not None:
        from edgekit.data import _limit_records

        clips = _limit_records(clips, limit)

    if progress:
        progress("babble noise", 0, 1)
    babble_path = out_dir / "babble.npy"
    np.save(babble_path, make_babble(seed))
    if progress:
        progress("babble noise", 1, 1)

    jobs = [(c, str(out_dir / "audio" / c.split / LABELS[c.label] / f"{c.id}.wav")) for c in clips]
    workers = workers or min(2, os.cpu_count() or 1)
    cohorts: dict[str, dict] = {}
    if workers > 1 and len(jobs) > 50:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers, initializer=_worker_init, initargs=(str(babble_path), 10)) as pool:
            for k, (cid, cohort) in enumerate(pool.imap_unordered(_render_to_file, jobs, chunksize=16)):
                cohorts[cid] = cohort
                if progress and (k % 50 == 0 or k == len(jobs) - 1):
                    progress("synthesizing (espeak-ng)", k + 1, len(jobs))
    else:
        _worker_init(str(babble_path), 0)
        for k, job in enumerate(jobs):
            cid, cohort = _render_to_file(job)
            cohorts[cid] = cohort
            if progress and (k % 50 == 0 or k == len(jobs) - 1):
                progress("synthesizing (espeak-ng)", k + 1, len(jobs))

    return [SampleRecord(id=c.id, path=Path(p), label=c.label, split=c.split, cohort=cohorts[c.id])
            for c, p in jobs]
