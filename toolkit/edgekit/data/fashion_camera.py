"""Fashion-MNIST rendered into a camera bench with device cohorts (sensor x lighting).

Source: the Debian package `dataset-fashion-mnist` (MIT licence), IDX files in
/usr/share/datasets/fashion-mnist (override with EDGEKIT_FASHION_MNIST). Nothing is downloaded.

Each 28x28 garment is placed in a scene and photographed by a simulated sensor:

    scene (linear RGB, 0..1): a tinted background with a light gradient; the garment's
        Fashion-MNIST intensity shapes both its mask and its shading, in a random colour that
        contrasts with the background; random size (62-88% of the frame's short side) and offset
    lighting: exposure, then the camera's auto-exposure gain (dark: few photons, high gain,
        so noise is amplified; bright: highlights clip)
    sensor: its own resolution (larger than the 96x96 model input, so the device resizes),
        uncorrected colour gains, optics blur, vignetting, shot + read noise, gamma encoding,
        8-bit quantization

Splits: train and val come from the 60k training images (disjoint), test from the 10k test
images; train/val cohorts are drawn at random per image, the test split is balanced over the
sensor x lighting cells. Every sample's randomness comes from its own seed (seed, split,
source index), so a sample does not change when `limit` changes. Samples are PNG files.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from edgekit.errors import UserError

GENERATOR_VERSION = 1

DEFAULT_SOURCE = Path("/usr/share/datasets/fashion-mnist")
# Sizes per split when no limit is given. The test split stays a few thousand images: it is
# run on emulated MCUs later (300 per sensor x lighting cell).
SPLIT_SIZES = {"train": 16000, "val": 900, "test": 2700}
VAL_POOL = 5000  # the last 5000 (after a seeded shuffle) of the 60k training images feed val


@dataclass(frozen=True)
class Sensor:
    name: str
    width: int
    height: int
    gamma: float  # encoding gamma: out = linear ** (1 / gamma)
    gains: tuple[float, float, float]  # uncorrected white balance, R G B
    blur_sigma: float  # optics + demosaic, in pixels
    full_well: float  # photons at linear 1.0; shot noise std = sqrt(signal / full_well)
    read_noise: float  # std in linear units before gain
    vignetting: float  # brightness lost at the corners


@dataclass(frozen=True)
class Lighting:
    name: str
    exposure: float  # scene light reaching the sensor
    gain: float  # auto-exposure digital gain applied after the noise


SENSORS = (
    Sensor("sensor-a", 160, 120, gamma=2.2, gains=(1.0, 1.0, 1.0), blur_sigma=0.5,
           full_well=4000.0, read_noise=0.002, vignetting=0.05),
    Sensor("sensor-b", 128, 128, gamma=1.8, gains=(0.82, 1.1, 0.78), blur_sigma=1.1,
           full_well=700.0, read_noise=0.006, vignetting=0.25),
    Sensor("sensor-c", 144, 112, gamma=2.6, gains=(1.18, 1.0, 0.8), blur_sigma=0.8,
           full_well=1500.0, read_noise=0.004, vignetting=0.12),
)
LIGHTINGS = (
    Lighting("dark", exposure=0.1, gain=2.5),
    Lighting("normal", exposure=1.0, gain=1.0),
    Lighting("bright", exposure=1.7, gain=1.0),
)
COHORT_FIELDS = ("sensor", "lighting")
_SPLIT_CODES = {"train": 1, "val": 2, "test": 3}

Progress = Callable[[str, int, int], None]


# ----------------------------------------------------------------------------- source data

def source_dir() -> Path:
    return Path(os.environ.get("EDGEKIT_FASHION_MNIST", DEFAULT_SOURCE))


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped) of unsigned bytes -> ndarray."""
    try:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UserError(f"{path}: cannot read Fashion-MNIST ({exc.strerror or exc}); "
                        f"install the Debian package dataset-fashion-mnist (make setup)") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise UserError(f"{path}: not an IDX file of unsigned bytes; reinstall dataset-fashion-mnist")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserError(f"{path}: truncated IDX file ({body.size} bytes for shape {dims}); "
                        f"reinstall dataset-fashion-mnist")
    return body.reshape(dims)


def _find(d: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (d / name).is_file():
            return d / name
    raise UserError(f"{d}/{stem}.gz: Fashion-MNIST not found; install the Debian package "
                    f"dataset-fashion-mnist (make setup) or set EDGEKIT_FASHION_MNIST")


@lru_cache(maxsize=4)
def _load_source_cached(directory: str, part: str) -> tuple[np.ndarray, np.ndarray]:
    d = Path(directory)
    images = read_idx(_find(d, f"{part}-images-idx3-ubyte"))
    labels = read_idx(_find(d, f"{part}-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise UserError(f"{d}: {part} images {images.shape} and labels {labels.shape} "
                        f"do not match; reinstall dataset-fashion-mnist")
    return images, labels


def load_source(part: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N,28,28], labels uint8 [N]) for part 'train' or 't10k' (read-only arrays)."""
    return _load_source_cached(str(source_dir()), part)


# ----------------------------------------------------------------------------- rendering

def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    import colorsys

    return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float64)


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.2126, 0.7152, 0.0722]))


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(garment, background) linear colours with enough luminance contrast to see the shape."""
    garment = _hsv_to_rgb(rng.random(), rng.uniform(0.15, 0.9), rng.uniform(0.25, 0.95)) ** 2.2
    lg = _luma(garment)
    # Background luminance at least 0.18 away (linear) from the garment's, on whichever side fits.
    below, above = (0.01, lg - 0.18), (lg + 0.18, 0.85)
    choices = [iv for iv in (below, above) if iv[1] > iv[0]]
    lo, hi = choices[rng.integers(len(choices))]
    target = rng.uniform(lo, hi)
    tint = _hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.35), 1.0) ** 2.2
    background = tint * (target / max(_luma(tint), 1e-6))
    return np.clip(garment, 0, 1), np.clip(background, 0, 1)


def render_scene(garment28: np.ndarray, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Linear-light RGB scene float64 [height, width, 3] in 0..1 holding the garment."""
    from PIL import Image

    garment_rgb, bg_rgb = _colours(rng)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (xx / width - 0.5) + np.sin(angle) * (yy / height - 0.5))
    scene = bg_rgb[None, None, :] * (1.0 + rng.uniform(0.0, 0.4) * ramp)[:, :, None]

    side = int(round(min(height, width) * rng.uniform(0.62, 0.88)))
    top = int(round((height - side) / 2 + rng.uniform(-0.06, 0.06) * height))
    left = int(round((width - side) / 2 + rng.uniform(-0.06, 0.06) * width))
    top, left = int(np.clip(top, 0, height - side)), int(np.clip(left, 0, width - side))
    up = np.asarray(Image.fromarray(garment28).resize((side, side), Image.BICUBIC), dtype=np.float64) / 255.0
    up = np.clip(up, 0.0, 1.0)
    alpha = np.clip(up * 4.0, 0.0, 1.0)[:, :, None]
    shade = garment_rgb[None, None, :] * (0.35 + 0.65 * up[:, :, None])
    region = scene[top:top + side, left:left + side]
    scene[top:top + side, left:left + side] = region * (1 - alpha) + shade * alpha
    return np.clip(scene, 0.0, 1.0)


def capture(scene: np.ndarray, sensor: Sensor, lighting: Lighting, rng: np.random.Generator) -> np.ndarray:
    """Linear scene -> the sensor's uint8 RGB frame under the lighting."""
    from scipy.ndimage import gaussian_filter

    h, w = scene.shape[:2]
    signal = scene * lighting.exposure * np.asarray(sensor.gains)[None, None, :]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r2 = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2
    signal = signal * (1.0 - sensor.vignetting * r2 / 2.0)[:, :, None]
    signal = gaussian_filter(signal, sigma=(sensor.blur_sigma, sensor.blur_sigma, 0), mode="nearest")
    noise_std = np.sqrt(np.maximum(signal, 0) / sensor.full_well + sensor.read_noise ** 2)
    signal = signal + rng.standard_normal(signal.shape) * noise_std
    signal = np.clip(signal * lighting.gain, 0.0, 1.0)
    encoded = signal ** (1.0 / sensor.gamma)
    return np.clip(np.floor(encoded * 255.0 + 0.5), 0, 255).astype(np.uint8)


def render(garment28: np.ndarray, sensor: Sensor, lighting: Lighting, rng: np.random.Generator) -> np.ndarray:
    return capture(render_scene(garment28, sensor.height, sensor.width, rng), sensor, lighting, rng)


# ----------------------------------------------------------------------------- the dataset

def split_plan(seed: int, limit: Optional[int]) -> dict[str, list[tuple[str, int]]]:
    """Per split, the (source part, source index) pairs, in manifest order (cohort-mixed)."""
    rng = np.random.default_rng([seed, 0xFA5])
    train_perm = rng.permutation(60000)
    test_perm = rng.permutation(10000)
    pools = {"val": [("train", int(i)) for i in train_perm[-VAL_POOL:]],
             "train": [("train", int(i)) for i in train_perm[:-VAL_POOL]],
             "test": [("t10k", int(i)) for i in test_perm]}
    plan = {}
    for split, pool in pools.items():
        n = SPLIT_SIZES[split] if limit is None else min(limit, SPLIT_SIZES[split])
        plan[split] = pool[:n]
    return plan


def _cohort(split: str, position: int, rng: np.random.Generator) -> tuple[Sensor, Lighting]:
    if split == "test":
        # Balanced cells, cycling, so any prefix of the test split is balanced too.
        cell = position % (len(SENSORS) * len(LIGHTINGS))
        return SENSORS[cell // len(LIGHTINGS)], LIGHTINGS[cell % len(LIGHTINGS)]
    return SENSORS[rng.integers(len(SENSORS))], LIGHTINGS[rng.integers(len(LIGHTINGS))]


def generate(out_dir: Path, seed: int = 0, limit: Optional[int] = None,
             progress: Optional[Progress] = None) -> list:
    """Render the bench into out_dir/<split>/<id>.png; returns the SampleRecords."""
    from PIL import Image

    from edgekit.data import SampleRecord

    if limit is not None and limit < 1:
        raise UserError(f"--limit {limit}: must be at least 1")
    out_dir = Path(out_dir)
    sources = {part: load_source(part) for part in ("train", "t10k")}
    plan = split_plan(seed, limit)
    total = sum(len(v) for v in plan.values())
    records, done = [], 0
    for split in ("train", "val", "test"):
        (out_dir / split).mkdir(parents=True, exist_ok=True)
        for position, (part, index) in enumerate(plan[split]):
            rng = np.random.default_rng([seed, _SPLIT_CODES[split], index])
            sensor, lighting = _cohort(split, position, rng)
            images, labels = sources[part]
            frame = render(images[index], sensor, lighting, rng)
            sample_id = f"{split}-{part}-{index:05d}"
            path = out_dir / split / f"{sample_id}.png"
            Image.fromarray(frame, "RGB").save(path, compress_level=1)
            records.append(SampleRecord(id=sample_id, path=path, label=int(labels[index]), split=split,
                                        cohort={"sensor": sensor.name, "lighting": lighting.name}))
            done += 1
            if progress is not None and (done % 250 == 0 or done == total):
                progress(f"rendering {split}", done, total)
    return records


def load_raw(path: Path) -> np.ndarray:
    """A rendered frame as uint8 [H, W, 3] RGB."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read image ({exc}); re-run `edgekit data prepare --model mobilenetv2`") from None
