"""A phone app's camera preprocessing, written the way an app team writes it: Pillow for the
crop and the resize (the library the app really uses), its own normalisation. Not edgekit's
reference; edgekit skew measures how far it is from it.

    edgekit skew -m mobilenetv2 -t snapdragon-htp --frontend-python camera_pipeline.py:app_v1
    edgekit skew -m mobilenetv2 -t snapdragon-htp --frontend-python camera_pipeline.py:app_v2

app_v1 is the shipped pipeline. app_v2 is the release where the app moved to a new camera
API on the sensor-a devices, which hands over the full 4:3 frame, and the app resizes it to
96x96 without the central square crop: garments look wider there (the planted difference).
app_bgr: the sensor-b devices' new driver delivers BGR and the app reads it as RGB. Each
takes the raw frame (uint8 [H, W, 3]) and the sample's cohort fields, and returns float32
[96, 96, 3].
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIZE = 96
MEAN, STD = 127.5, 127.5


def _square(img: Image.Image) -> Image.Image:
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return img.crop((left, top, left + s, top + s))


def app_v1(raw: np.ndarray, cohort: dict, square: bool = True) -> np.ndarray:
    img = Image.fromarray(np.ascontiguousarray(raw), "RGB")
    if square:
        img = _square(img)
    # Pillow's bilinear filter widens with the downscale factor (it antialiases), where the
    # model's spec resizes without antialiasing: a real, small difference.
    img = img.resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    return (np.asarray(img, dtype=np.float32) - MEAN) / STD


def app_v2(raw: np.ndarray, cohort: dict) -> np.ndarray:
    return app_v1(raw, cohort, square=cohort.get("sensor") != "sensor-a")


def app_bgr(raw: np.ndarray, cohort: dict) -> np.ndarray:
    if cohort.get("sensor") == "sensor-b":
        raw = raw[..., ::-1]  # the new driver's BGR buffer, read as RGB
    return app_v1(raw, cohort)
