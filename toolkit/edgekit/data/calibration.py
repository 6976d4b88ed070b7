"""The committed calibration sets: calibration_data/<model>/ (docs/ARCHITECTURE.md, data stage).

A reference model's representative set is part of the repository, so `convert` and `build`
work on a fresh clone without `edgekit data prepare`:

    calibration_data/<model>/manifest.json   the chosen train samples (id, label, cohort) and
                                             how they are stored
    calibration_data/<model>/features.npy    float32 model inputs, when small (KWS: 49x10 MFCC),
                                             valid for the preprocessing spec whose hash the
                                             manifest records
    calibration_data/<model>/raw/<id>.png    or the raw samples, when the inputs would be large
                                             (images): preprocessed on load, so always current

Without a usable store (a user's model, another preprocessing spec), the set is selected from
the prepared dataset's train split and, for a complete dataset, written as the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from edgekit import resources
from edgekit.data import SampleRecord, features, load_dataset
from edgekit.errors import UserError

if TYPE_CHECKING:
    from edgekit.models import ModelSpec

CALIBRATION_MANIFEST = "manifest.json"
FEATURES_NAME = "features.npy"
RAW_DIR = "raw"
# Inputs up to this size are stored as features; larger ones (images) as their raw files.
MAX_FEATURES_BYTES = 1 << 20
HOW = "greedy cover of every cohort value and label from the train split, seed 0 (edgekit.data.select_calibration)"


def calibration_manifest_path(spec: "ModelSpec") -> Path:
    return resources.calibration_dir() / spec.name / CALIBRATION_MANIFEST


def preprocessing_hash(spec: "ModelSpec") -> str:
    pp = json.dumps(spec.preprocessing.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(pp.encode()).hexdigest()[:16]


def select_calibration(records: list[SampleRecord], cohort_fields: list[str], n: int,
                       seed: int = 0) -> list[SampleRecord]:
    """n records spread over every cohort value and label: greedily take the record whose
    (field, value) pairs and label are least represented so far (ties in a seeded random
    order), so every value of every cohort field appears once n is at least the number of
    values, and the rest stay balanced."""
    recs = sorted(records, key=lambda r: r.id)
    if not recs:
        return []
    rng = np.random.default_rng(seed)
    recs = [recs[i] for i in rng.permutation(len(recs))]
    columns = [[str(r.cohort.get(f)) for r in recs] for f in cohort_fields] + [[str(r.label) for r in recs]]
    codes, counts = [], []
    for col in columns:
        values, idx = np.unique(np.array(col), return_inverse=True)
        codes.append(idx)
        counts.append(np.zeros(len(values), np.int64))
    taken = np.zeros(len(recs), bool)
    picked: list[SampleRecord] = []
    for _ in range(min(n, len(recs))):
        score = sum(c[idx] for c, idx in zip(counts, codes)).astype(np.float64)
        # Values never seen yet dominate: a record covering one new value beats any balance gain.
        score += sum((c[idx] == 0) * -1e6 for c, idx in zip(counts, codes))
        score[taken] = np.inf
        i = int(np.argmin(score))
        taken[i] = True
        picked.append(recs[i])
        for c, idx in zip(counts, codes):
            c[idx[i]] += 1
    return picked


def _read_manifest(path: Path) -> Optional[dict]:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserError(f"{path}: not valid JSON; delete it to regenerate the calibration set") from None


def _stored_features(spec: "ModelSpec", n: int, path: Path) -> Optional[np.ndarray]:
    """The committed set's model inputs, or None when there is no store that fits (n samples,
    this preprocessing spec)."""
    saved = _read_manifest(path)
    stored = (saved or {}).get("stored")
    if not stored or len(saved.get("samples", [])) < n:
        return None
    folder = path.parent
    if stored.get("kind") == "features":
        if stored.get("preprocessing_hash") != preprocessing_hash(spec):
            return None  # made with another preprocessing spec: stale
        f = folder / stored.get("file", FEATURES_NAME)
        try:
            X = np.load(f, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UserError(f"{f}: cannot read the committed calibration features ({exc}); "
                            f"restore it from git or delete {path} to select afresh") from None
        if X.ndim < 1 or len(X) < n or tuple(X.shape[1:]) != tuple(spec.preprocessing.output_shape):
            raise UserError(f"{f}: shape {X.shape} does not hold {n} inputs of shape "
                            f"{tuple(spec.preprocessing.output_shape)}; restore it from git")
        return np.asarray(X[:n], np.float32)
    if stored.get("kind") == "raw":
        recs = []
        for s in saved["samples"][:n]:
            p = folder / s["file"]
            if not p.is_file():
                raise UserError(f"{path}: sample {s['id']}: {p} missing; restore calibration_data/ from git")
            recs.append(SampleRecord(id=s["id"], path=p, label=int(s["label"]), split="train",
                                     cohort=dict(s.get("cohort") or {})))
        return features(spec, recs)
    raise UserError(f"{path}: stored.kind {stored.get('kind')!r}: must be 'features' or 'raw'")


def calibration_set(spec: "ModelSpec", n: int = 200, manifest_path: Optional[Path] = None) -> np.ndarray:
    """Representative features (float32 [n, *input_shape]) from the train split across all
    cohorts, for quantization: the committed set in calibration_data/<model>/ when it fits,
    else selected from the prepared dataset (see the module docstring)."""
    if n <= 0:
        raise UserError(f"calibration set size {n}: must be at least 1")
    path = Path(manifest_path) if manifest_path else calibration_manifest_path(spec)
    X = _stored_features(spec, n, path)
    if X is not None:
        return X
    return features(spec, calibration_records(spec, n, manifest_path))


def calibration_records(spec: "ModelSpec", n: int = 200, manifest_path: Optional[Path] = None) -> list[SampleRecord]:
    """The prepared dataset's records behind the calibration set: those the manifest names
    when they are n train samples of this dataset, else selected afresh and, for a complete
    dataset, written with their store."""
    if n <= 0:
        raise UserError(f"calibration set size {n}: must be at least 1")
    ds = load_dataset(spec)
    by_id = {r.id: r for r in ds.records}
    path = Path(manifest_path) if manifest_path else calibration_manifest_path(spec)
    saved = _read_manifest(path)
    if saved is not None:
        ids = saved.get("ids", [])
        # The ids name samples of one dataset (seed); another seed's data gets a fresh selection.
        if (saved.get("data_hash") == ds.data_hash and len(ids) >= n
                and all(i in by_id and by_id[i].split == "train" for i in ids[:n])):
            chosen = [by_id[i] for i in ids[:n]]
            if saved.get("stored") is None or _stale(spec, saved):
                _try_write(spec, ds, chosen, path)
            return chosen
    chosen = select_calibration(ds.split("train"), list(spec.cohort_fields), n)
    if len(chosen) < n:
        raise UserError(f"{spec.name}: only {len(chosen)} train samples for a calibration set of {n}; "
                        f"prepare more data or ask for fewer")
    # Record the selection once, for the full dataset only: a quick `--limit` run or another
    # seed never overwrites a committed manifest.
    if not path.exists():
        _try_write(spec, ds, chosen, path)
    return chosen


def _stale(spec: "ModelSpec", saved: dict) -> bool:
    stored = saved.get("stored") or {}
    return stored.get("kind") == "features" and stored.get("preprocessing_hash") != preprocessing_hash(spec)


def _try_write(spec, ds, chosen, path: Path) -> None:
    if ds.meta.get("limit") is not None:
        return
    try:
        write_calibration_store(spec, chosen, path, ds.data_hash)
    except OSError:
        pass  # a read-only install still gets the same deterministic selection


def write_calibration_store(spec: "ModelSpec", records: list[SampleRecord], manifest_path: Path,
                            data_hash: str) -> Path:
    """Write the calibration set of `records` into manifest_path's folder: their model inputs
    (small) or raw files (large), then the manifest last, so a half-written store is never used."""
    from edgekit.fileio import write_atomic
    from edgekit.reportstore import write_json_atomic

    folder = manifest_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    n_bytes = len(records) * int(np.prod(spec.preprocessing.output_shape)) * 4
    samples = [{"id": r.id, "label": int(r.label), "cohort": r.cohort} for r in records]
    if n_bytes <= MAX_FEATURES_BYTES:
        X = features(spec, records)
        tmp = folder / (FEATURES_NAME + ".tmp.npy")
        np.save(tmp, X)
        os.replace(tmp, folder / FEATURES_NAME)
        shutil.rmtree(folder / RAW_DIR, ignore_errors=True)
        stored = {"kind": "features", "file": FEATURES_NAME, "dtype": "float32", "shape": list(X.shape),
                  "preprocessing_hash": preprocessing_hash(spec),
                  "how": "reference preprocessing (edgekit.preprocess) of the raw train samples"}
    else:
        raw = folder / RAW_DIR
        raw.mkdir(exist_ok=True)
        for r, s in zip(records, samples):
            src = Path(r.path)
            name = f"{RAW_DIR}/{r.id}{src.suffix}"
            if src.suffix == ".png":
                # Same pixels, recompressed: about 15% smaller than the cache's fast PNGs.
                from PIL import Image
                import io

                buf = io.BytesIO()
                with Image.open(src) as im:
                    im.save(buf, "PNG", optimize=True)
                write_atomic(folder / name, buf.getvalue())
            else:
                shutil.copyfile(src, folder / name)
            s["file"] = name
        keep = {Path(s["file"]).name for s in samples}
        for p in raw.iterdir():
            if p.name not in keep:
                p.unlink()
        (folder / FEATURES_NAME).unlink(missing_ok=True)
        stored = {"kind": "raw", "folder": RAW_DIR,
                  "how": "the dataset's raw train samples, preprocessed on load (edgekit.preprocess)"}
    write_json_atomic(manifest_path, {
        "model": spec.name, "n": len(records), "from_split": "train", "data_hash": data_hash, "how": HOW,
        "cohort_fields": list(spec.cohort_fields), "stored": stored,
        "ids": [r.id for r in records], "samples": samples})
    os.chmod(manifest_path, 0o644)  # committed file
    return manifest_path
