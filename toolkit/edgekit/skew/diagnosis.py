"""Diagnosis of a preprocessing difference from the (reference, implementation) tensor pairs
of one cohort: which simple correction makes the implementation's tensors match the
reference's, i.e. the likely bug (docs/ARCHITECTURE.md, skew).

Each candidate is scored by the share of the squared difference it explains (1 - error
after the correction / error before, measured on the pairs); the finding names the best:

- images: per-channel gain and offset (a mean or scale off: "channel 0 mean 128.0 vs 127.5
  in pixel levels"), channel permutation ("R and B swapped"), spatial alignment (the best
  shift, scale, squeeze or flip between the two: a crop offset, no square crop, a mirrored
  sensor), smoothing or sharpening (a resize kernel, a blur);
- audio (MFCC): error per coefficient and per frame, the best frame lag, the level
  difference in dB (from the 0th coefficient's offset), per-coefficient gain and offset.
"""

from __future__ import annotations

import itertools
import math
from typing import Optional

import numpy as np

EXPLAINS = 0.5          # a correction that explains at least this share names the kind
MAX_PAIRS = 48          # spatial and smoothing searches run on at most this many pairs
CHANNEL_NAMES = {3: "RGB"}


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def _gain_offset(ref: np.ndarray, dev: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least-squares dev_c ~ gain_c * ref_c + offset_c over the last axis; the error after."""
    r = ref.reshape(-1, ref.shape[-1]).astype(np.float64)
    d = dev.reshape(-1, dev.shape[-1]).astype(np.float64)
    gains, offsets, fitted = [], [], np.empty_like(d)
    for c in range(r.shape[1]):
        var = r[:, c].var()
        g = float(((r[:, c] - r[:, c].mean()) * (d[:, c] - d[:, c].mean())).mean() / var) if var > 0 else 1.0
        o = float(d[:, c].mean() - g * r[:, c].mean())
        gains.append(g)
        offsets.append(o)
        fitted[:, c] = g * r[:, c] + o
    return np.array(gains), np.array(offsets), _mse(fitted, d)


def _pick(cands: dict) -> tuple[str, float]:
    """The simplest candidate (the first listed) among those within 2% of the best."""
    best = max(cands.values())
    return next((k, v) for k, v in cands.items() if v >= best - 0.02)


def _explained(e0: float, e: float) -> float:
    return 0.0 if e0 <= 0 else max(0.0, 1.0 - e / e0)


def _box_blur(x: np.ndarray) -> np.ndarray:
    """3x3 mean over the spatial axes of [N, H, W, C] (edges replicated)."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = x.shape[1:3]
    return sum(p[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0


def _hf_energy(x: np.ndarray) -> float:
    lap = 4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]
    return float(np.mean(lap.astype(np.float64) ** 2))


def _zoom(x: np.ndarray, sy: float, sx: float) -> np.ndarray:
    """Centre zoom of [N, H, W, C] by (sy, sx) (> 1 magnifies), bilinear, same size."""
    n, h, w, c = x.shape
    ys = (np.arange(h) + 0.5 - h / 2) / sy + h / 2 - 0.5
    xs = (np.arange(w) + 0.5 - w / 2) / sx + w / 2 - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    wy = np.clip(ys - y0, 0, 1)[None, :, None, None]
    wx = np.clip(xs - x0, 0, 1)[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - wx) + x[:, y0][:, :, x1] * wx
    bot = x[:, y1][:, :, x0] * (1 - wx) + x[:, y1][:, :, x1] * wx
    return top * (1 - wy) + bot * wy


def _spatial(ref: np.ndarray, dev: np.ndarray, e0: float) -> Optional[dict]:
    """The best flip, shift (up to 3 pixels) or centre scale/squeeze mapping ref onto dev,
    compared on the interior (a 4-pixel margin) so shifted-in borders do not count."""
    m = 4
    inner = (slice(None), slice(m, -m), slice(m, -m))
    base = _mse(ref[inner], dev[inner])
    best = {"transform": "none", "error": base}
    cands = [("horizontal flip", ref[:, :, ::-1]), ("vertical flip", ref[:, ::-1])]
    for dy, dx in itertools.product(range(-3, 4), repeat=2):
        if dy or dx:
            cands.append((f"shift by {dy:+d} rows, {dx:+d} columns", np.roll(ref, (dy, dx), axis=(1, 2))))
    for s in (0.75, 0.8, 0.875, 0.9, 0.95, 1.05, 1.1, 1.15, 1.25, 1.333):
        cands.append((f"scale x{s:g}", _zoom(ref, s, s)))
        cands.append((f"horizontal squeeze x{s:g} (aspect ratio)", _zoom(ref, 1.0, s)))
        cands.append((f"vertical squeeze x{s:g} (aspect ratio)", _zoom(ref, s, 1.0)))
    for name, t in cands:
        e = _mse(t[inner], dev[inner])
        if e < best["error"]:
            best = {"transform": name, "error": e}
    if best["transform"] == "none":
        return None
    return {"transform": best["transform"], "explains": _explained(base, best["error"])}


def _image(spec, ref: np.ndarray, dev: np.ndarray) -> dict:
    e0 = _mse(ref, dev)
    gains, offsets, e_gain = _gain_offset(ref, dev)
    std = np.asarray(getattr(spec, "std", [1.0] * ref.shape[-1]), dtype=np.float64)
    mean = np.asarray(getattr(spec, "mean", [0.0] * ref.shape[-1]), dtype=np.float64)
    names = CHANNEL_NAMES.get(ref.shape[-1], "".join(str(i) for i in range(ref.shape[-1])))
    order = str(getattr(spec, "color_order", "rgb")).upper()
    if len(order) == ref.shape[-1]:
        names = order
    per_channel = []
    for c in range(ref.shape[-1]):
        rm, dm = float(ref[..., c].mean()), float(dev[..., c].mean())
        per_channel.append({"channel": names[c], "gain": round(float(gains[c]), 4),
                            "offset": round(float(offsets[c]), 4),
                            "mean_reference_pixels": round(rm * std[c] + mean[c], 2),
                            "mean_device_pixels": round(dm * std[c] + mean[c], 2)})
    cands = {"gain/offset": _explained(e0, e_gain)}
    perm_best = None
    for perm in itertools.permutations(range(ref.shape[-1])):
        if perm == tuple(range(ref.shape[-1])):
            continue
        e = _mse(ref[..., list(perm)], dev)
        if perm_best is None or e < perm_best[1]:
            perm_best = (perm, e)
    if perm_best is not None:
        cands["channel permutation"] = _explained(e0, perm_best[1])
    k = min(len(ref), MAX_PAIRS)
    r_s, d_s = ref[:k].astype(np.float64), dev[:k].astype(np.float64)
    spatial = _spatial(r_s, d_s, e0)
    if spatial:
        cands["spatial alignment"] = spatial["explains"]
    hf_ratio = _hf_energy(d_s) / max(_hf_energy(r_s), 1e-12)
    e_s0 = _mse(r_s, d_s)
    cands["smoothing"] = _explained(e_s0, _mse(_box_blur(r_s), d_s)) if hf_ratio < 1 else 0.0
    cands["sharpening"] = _explained(e_s0, _mse(r_s, _box_blur(d_s))) if hf_ratio > 1 else 0.0
    kind, share = _pick(cands)
    finding = {"kind": kind if share >= EXPLAINS else "unexplained", "explains": round(share, 3),
               "candidates": {k: round(v, 3) for k, v in cands.items()}, "per_channel": per_channel,
               "high_frequency_energy_ratio": round(hf_ratio, 3), "spatial": spatial}
    if kind == "channel permutation" and perm_best is not None:
        moved = [f"{names[i]}" for i, p in enumerate(perm_best[0]) if p != i]
        finding["permutation"] = "".join(names[p] for p in perm_best[0])
        finding["text"] = (f"channels permuted: the device's {''.join(names)} is the reference's "
                           f"{finding['permutation']} ({' and '.join(moved)} swapped)")
    elif kind == "gain/offset":
        worst = max(per_channel, key=lambda c: abs(c["mean_device_pixels"] - c["mean_reference_pixels"])
                    + abs(c["gain"] - 1) * 128)
        finding["text"] = (f"channel {worst['channel']} mean off by "
                           f"{worst['mean_device_pixels'] - worst['mean_reference_pixels']:+.2f} pixel levels "
                           f"(mean {worst['mean_device_pixels']:.2f} vs {worst['mean_reference_pixels']:.2f}), "
                           f"gain {worst['gain']:.3f}, offset {worst['offset']:+.3f} in model-input units")
    elif kind == "spatial alignment":
        finding["text"] = f"spatial misalignment: best match at {spatial['transform']}"
    elif kind in ("smoothing", "sharpening"):
        finding["text"] = (f"{'smoother' if kind == 'smoothing' else 'sharper'} than the reference: high-frequency "
                           f"energy x{hf_ratio:.2f} (resize kernel or filter)")
    else:
        finding["text"] = f"no single correction explains the difference (best: {kind}, {100 * share:.0f}%)"
    return finding


def _audio(spec, ref: np.ndarray, dev: np.ndarray) -> dict:
    r = ref[..., 0].astype(np.float64)  # [N, frames, coefficients]
    d = dev[..., 0].astype(np.float64)
    e0 = _mse(r, d)
    err = np.abs(d - r)
    per_coef = [round(float(v), 4) for v in err.mean(axis=(0, 1))]
    per_frame = [round(float(v), 4) for v in err.mean(axis=(0, 2))]
    bias = (d - r).mean(axis=(0, 1))
    m = int(getattr(spec, "mel_bins", r.shape[-1]))
    k_db = 20.0 if getattr(spec, "spectrum", "magnitude") == "magnitude" else 10.0
    level_db = k_db * float(bias[0]) / (math.sqrt(m) * math.log(10))
    leveled = d.copy()
    leveled[..., 0] -= bias[0]
    cands = {"level difference": _explained(e0, _mse(r, leveled))}
    best_lag, e_lag = 0, e0
    f = r.shape[1]
    for lag in range(-3, 4):
        if lag == 0:
            continue
        a, b = (r[:, :f - lag], d[:, lag:]) if lag > 0 else (r[:, -lag:], d[:, :f + lag])
        e = _mse(a, b)
        if e < e_lag:
            best_lag, e_lag = lag, e
    base_inner = _mse(r[:, 3:f - 3], d[:, 3:f - 3])
    cands["frame lag"] = _explained(base_inner, e_lag) if best_lag else 0.0
    gains, offsets, e_gain = _gain_offset(r, d)
    cands["per-coefficient gain/offset"] = _explained(e0, e_gain)
    kind, share = _pick(cands)
    worst_c = int(np.argmax(per_coef))
    finding = {"kind": kind if share >= EXPLAINS else "unexplained", "explains": round(share, 3),
               "candidates": {k: round(v, 3) for k, v in cands.items()},
               "error_per_coefficient": per_coef, "error_per_frame": per_frame,
               "best_frame_lag": best_lag, "level_difference_db": round(level_db, 2),
               "gain_per_coefficient": [round(float(g), 4) for g in gains],
               "offset_per_coefficient": [round(float(o), 4) for o in offsets]}
    if kind == "level difference":
        finding["text"] = f"level differs by {level_db:+.1f} dB (coefficient 0 offset {bias[0]:+.3f})"
    elif kind == "frame lag":
        finding["text"] = f"frames shifted: best match at a lag of {best_lag:+d} frames"
    elif kind == "per-coefficient gain/offset":
        finding["text"] = (f"coefficient {worst_c} carries the most error (mean |d| {per_coef[worst_c]:.3f}); "
                           f"gain {gains[worst_c]:.3f}, offset {offsets[worst_c]:+.3f}; level {level_db:+.1f} dB")
    else:
        finding["text"] = (f"no single correction explains the difference (best: {kind}, {100 * share:.0f}%); "
                           f"coefficient {worst_c} carries the most error, level {level_db:+.1f} dB")
    return finding


def diagnose(pre_spec, ref: np.ndarray, dev: np.ndarray) -> Optional[dict]:
    """ref, dev: [N, *model input] float tensors (model-input units) of one cohort -> the
    finding (kind, share explained, the figures behind it, a sentence), or None if equal."""
    if ref.size == 0 or _mse(ref, dev) == 0:
        return None
    if getattr(pre_spec, "kind", None) == "mfcc":
        return _audio(pre_spec, ref, dev)
    return _image(pre_spec, ref, dev)
