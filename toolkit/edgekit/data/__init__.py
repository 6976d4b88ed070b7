"""Datasets with cohort metadata: prepare (synthesize/render/load), cache, features, calibration.

A prepared dataset lives in `cache_dir()/datasets/<model>/` (outside git):

    manifest.jsonl   one SampleRecord per line (id, path relative to the root, label, split, cohort)
    meta.json        generator, seed, limit, record count, content hash; written LAST, so a
                     dataset without it is incomplete and is regenerated, never used
    features/        float32 feature arrays per split, keyed by the preprocessing spec

Where the raw samples come from is chosen by model.yaml `dataset:`:
- a generator name (`kws-espeak`, `fashion-camera`) -> module `edgekit.data.<name with _>`
  exposing `generate(out_dir, seed, limit, progress) -> list[SampleRecord]` and
  `load_raw(path) -> np.ndarray`;
- anything else is a user dataset (a manifest CSV/JSONL, a Speech-Commands-style folder or an
  ImageFolder-style folder, relative to model.yaml) -> `edgekit.data.user`.

`progress`, everywhere in this package, is an optional callable
`progress(description: str, done: int, total: int)`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Optional

import numpy as np

from edgekit import resources
from edgekit.errors import UserError

if TYPE_CHECKING:
    from edgekit.models import ModelSpec

Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")
Progress = Callable[[str, int, int], None]

MANIFEST_NAME = "manifest.jsonl"
META_NAME = "meta.json"
# Bumped when the on-disk layout changes, so old caches are regenerated rather than misread.
LAYOUT_VERSION = 1

# dataset: name -> module implementing generate()/load_raw() (and GENERATOR_VERSION).
GENERATORS = {
    "kws-espeak": "edgekit.data.kws_espeak",
    "fashion-camera": "edgekit.data.fashion_camera",
}


@dataclass
class SampleRecord:
    id: str
    path: Path  # the raw file (absolute once loaded)
    label: int
    split: str  # "train" | "val" | "test"
    cohort: dict[str, str | float] = field(default_factory=dict)

    def to_json(self, root: Path | None = None) -> dict:
        p = Path(self.path)
        if root is not None:
            try:
                p = p.relative_to(root)
            except ValueError:
                pass  # user data outside the cache stays absolute
        return {"id": self.id, "path": str(p), "label": int(self.label), "split": self.split,
                "cohort": self.cohort}

    @staticmethod
    def from_json(d: dict, root: Path | None = None) -> "SampleRecord":
        p = Path(d["path"])
        if root is not None and not p.is_absolute():
            p = root / p
        return SampleRecord(id=d["id"], path=p, label=int(d["label"]), split=d["split"],
                            cohort=dict(d.get("cohort") or {}))


@dataclass
class PreparedDataset:
    root: Path
    records: list[SampleRecord]
    meta: dict = field(default_factory=dict)

    def split(self, name: str) -> list[SampleRecord]:
        return [r for r in self.records if r.split == name]

    @property
    def data_hash(self) -> str:
        return str(self.meta.get("data_hash", ""))

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.records if r.split == s) for s in SPLITS}


# ----------------------------------------------------------------------------- locations

def dataset_dir(spec: "ModelSpec") -> Path:
    return resources.cache_dir() / "datasets" / spec.name


def _generator_module(spec: "ModelSpec"):
    name = GENERATORS.get(spec.dataset or "")
    if name is None:
        return None
    return importlib.import_module(name)


def _user_module():
    try:
        return importlib.import_module("edgekit.data.user")
    except ModuleNotFoundError as exc:
        if exc.name == "edgekit.data.user":
            raise UserError("user datasets are not supported in this build (edgekit.data.user missing); "
                            "use a reference model's dataset") from None
        raise


def user_source(spec: "ModelSpec") -> Path:
    """Where a user dataset is: model.yaml `dataset:` as a path relative to model.yaml."""
    if not spec.dataset:
        raise UserError(f"{spec.folder}/model.yaml: dataset: missing; give a generator name "
                        f"({', '.join(GENERATORS)}) or the path of a manifest CSV/JSONL or a folder of labelled files")
    p = Path(spec.dataset).expanduser()
    if not p.is_absolute() and spec.folder is not None:
        p = spec.folder / p
    return p


# ----------------------------------------------------------------------------- prepare / load

def _read_meta(root: Path) -> Optional[dict]:
    p = root / META_NAME
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _read_manifest(root: Path) -> list[SampleRecord]:
    with open(root / MANIFEST_NAME) as f:
        return [SampleRecord.from_json(json.loads(line), root) for line in f if line.strip()]


def _write_manifest(root: Path, records: list[SampleRecord]) -> None:
    tmp = root / (MANIFEST_NAME + ".tmp")
    with open(tmp, "w") as f:
        for r in records:
            f.write(json.dumps(r.to_json(root), sort_keys=True) + "\n")
    os.replace(tmp, root / MANIFEST_NAME)


def _write_meta(root: Path, meta: dict) -> None:
    tmp = root / (META_NAME + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, root / META_NAME)


def content_hash(records: list[SampleRecord]) -> str:
    """sha256 over ids, labels, splits, cohorts and the raw file bytes: the data's identity."""
    h = hashlib.sha256()
    for r in sorted(records, key=lambda r: r.id):
        h.update(json.dumps([r.id, r.label, r.split, r.cohort], sort_keys=True).encode())
        with open(r.path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


def _check_records(spec: "ModelSpec", records: list[SampleRecord]) -> None:
    """Generators must give every sample a label in range, a split and every cohort field."""
    n = len(spec.labels)
    for r in records:
        if not (0 <= r.label < n):
            raise UserError(f"{r.path}: label {r.label} out of range for {n} labels; fix the dataset")
        if r.split not in SPLITS:
            raise UserError(f"{r.path}: split '{r.split}' is not one of {', '.join(SPLITS)}")
        missing = [c for c in spec.cohort_fields if c not in r.cohort]
        if missing:
            raise UserError(f"{r.path}: cohort fields {', '.join(missing)} missing; "
                            f"every sample needs all of model.yaml cohort_fields")


def prepare(spec: "ModelSpec", seed: int = 0, limit: Optional[int] = None, skip_bad: bool = False,
            progress: Optional[Progress] = None) -> PreparedDataset:
    """Make the dataset of `spec` ready in the cache; idempotent (returns the cache when it matches).

    `limit` caps the samples per split (quick runs). A cached dataset made with another seed,
    limit or generator version is regenerated. Generation happens in a temporary folder that
    replaces the cache only when complete.
    """
    root = dataset_dir(spec)
    gen = _generator_module(spec)
    if gen is not None:
        source = {"generator": spec.dataset, "generator_version": getattr(gen, "GENERATOR_VERSION", 1)}
    else:
        src = user_source(spec)
        source = {"user_source": str(src.resolve()), "skip_bad": bool(skip_bad)}
    wanted = {"layout": LAYOUT_VERSION, "seed": int(seed), "limit": limit, **source}

    meta = _read_meta(root)
    if meta is not None and all(meta.get(k) == v for k, v in wanted.items()):
        if gen is None:
            # User files can change under us: re-check the content hash, cheap next to training.
            records = _read_manifest(root)
            if all(r.path.is_file() for r in records) and content_hash(records) == meta.get("data_hash"):
                return PreparedDataset(root, records, meta)
        else:
            return PreparedDataset(root, _read_manifest(root), meta)
    if (gen is not None and limit is not None and meta is not None and meta.get("limit") is None
            and all(meta.get(k) == v for k, v in wanted.items() if k != "limit")):
        # A quick `--limit` run never replaces a complete dataset: it gets the first `limit`
        # samples of each split of it (generators order each split so a prefix is balanced).
        return PreparedDataset(root, _limit_records(_read_manifest(root), limit), meta)

    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_work_dirs(root.parent, spec.name)
    work = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{spec.name}.tmp-{os.getpid()}-"))
    try:
        if gen is not None:
            records = gen.generate(work, seed=seed, limit=limit, progress=progress)
        else:
            records = _user_module().load(spec, src, out_dir=work, seed=seed, limit=limit,
                                          skip_bad=skip_bad, progress=progress)
        if not records:
            raise UserError(f"{spec.dataset}: no samples found; check model.yaml dataset:")
        _check_records(spec, records)
        _write_manifest(work, records)  # paths inside `work` are stored relative, so they survive the rename
        counts = {s: sum(1 for r in records if r.split == s) for s in SPLITS}
        meta = {**wanted, "n": len(records), "counts": counts, "data_hash": content_hash(records),
                "labels": list(spec.labels)}
        _write_meta(work, meta)
        # Swap in the finished folder; the old cache (if any) is removed only afterwards.
        old = None
        if root.exists():
            old = root.parent / f".{spec.name}.old-{os.getpid()}"
            os.replace(root, old)
        os.replace(work, root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return PreparedDataset(root, _read_manifest(root), meta)


def _limit_records(records: list, limit: int) -> list:
    """The first `limit` items of each split, in order (anything with a .split)."""
    seen: dict[str, int] = {}
    out = []
    for r in records:
        if seen.get(r.split, 0) < limit:
            out.append(r)
            seen[r.split] = seen.get(r.split, 0) + 1
    return out


def _remove_stale_work_dirs(parent: Path, name: str) -> None:
    """Remove work folders of killed runs (their pid is gone); live ones are left alone."""
    for d in parent.glob(f".{name}.tmp-*"):
        try:
            pid = int(d.name[len(f".{name}.tmp-"):].split("-")[0])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            pass


def load_dataset(spec: "ModelSpec") -> PreparedDataset:
    root = dataset_dir(spec)
    meta = _read_meta(root)
    if meta is None or not (root / MANIFEST_NAME).is_file():
        raise UserError(f"{root}: dataset for model '{spec.name}' not prepared; "
                        f"run `edgekit data prepare --model {spec.name}`")
    return PreparedDataset(root, _read_manifest(root), meta)


def load_raw(spec: "ModelSpec", record: SampleRecord) -> np.ndarray:
    """The raw sample: int16 PCM for audio, uint8 HxWx3 sensor image for images."""
    gen = _generator_module(spec)
    if gen is not None:
        return gen.load_raw(Path(record.path))
    return _user_module().load_raw(spec, Path(record.path))


# ----------------------------------------------------------------------------- features

def _features_key(spec: "ModelSpec", ds: PreparedDataset) -> str:
    pp = json.dumps(spec.preprocessing.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(f"{pp}|{ds.data_hash}".encode()).hexdigest()[:12]


def features(spec: "ModelSpec", records: list[SampleRecord], progress: Optional[Progress] = None,
             description: str = "features") -> np.ndarray:
    """Reference-preprocessed features for `records` (not cached)."""
    from edgekit.preprocess import apply_batch

    out = np.empty((len(records), *spec.preprocessing.output_shape), np.float32)
    chunk = 64  # vectorised in chunks: fast, and memory stays bounded for large images
    for i in range(0, len(records), chunk):
        part = records[i:i + chunk]
        out[i:i + len(part)] = apply_batch(spec.preprocessing, [load_raw(spec, r) for r in part])
        if progress is not None:
            progress(description, i + len(part), len(records))
    return out


def split_arrays(spec: "ModelSpec", split: str, limit: Optional[int] = None,
                 progress: Optional[Progress] = None) -> tuple[np.ndarray, np.ndarray, list[SampleRecord]]:
    """(X float32 [N, *input_shape], y int64 [N], records) for one split, via the reference
    preprocessing; cached per preprocessing spec and data hash. `limit` takes the first N
    records of the split (manifest order, which generators keep cohort-mixed)."""
    if split not in SPLITS:
        raise UserError(f"split '{split}': must be one of {', '.join(SPLITS)}")
    ds = load_dataset(spec)
    records = ds.split(split)
    if limit is not None:
        records = records[:limit]
    cache = ds.root / "features" / f"{split}-{_features_key(spec, ds)}-{len(records)}.npy"
    if cache.is_file():
        X = np.load(cache)
    else:
        X = features(spec, records, progress, description=f"features ({split})")
        cache.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".npy")
        os.close(fd)
        np.save(tmp, X)
        os.replace(tmp, cache)
    y = np.array([r.label for r in records], np.int64)
    return X, y, records


def summarize(spec: "ModelSpec", ds: PreparedDataset) -> dict:
    """Counts per split, per label and per cohort value: what `edgekit data prepare` prints."""
    from edgekit.stats import value_key, value_sort_key

    per_label: dict[str, dict[str, int]] = {lab: {} for lab in spec.labels}
    per_cohort: dict[str, dict[str, dict[str, int]]] = {f: {} for f in spec.cohort_fields}
    for r in ds.records:
        c = per_label[spec.labels[r.label]]
        c[r.split] = c.get(r.split, 0) + 1
        for f in spec.cohort_fields:
            g = per_cohort[f].setdefault(value_key(r.cohort.get(f, "?")), {})
            g[r.split] = g.get(r.split, 0) + 1
    per_cohort = {f: dict(sorted(g.items(), key=lambda kv: value_sort_key(kv[0]))) for f, g in per_cohort.items()}
    return {"model": spec.name, "root": str(ds.root), "n": len(ds.records), "counts": ds.counts(),
            "seed": ds.meta.get("seed"), "limit": ds.meta.get("limit"), "data_hash": ds.data_hash,
            "source": ds.meta.get("generator") or ds.meta.get("user_source"),
            "per_label": per_label, "per_cohort": per_cohort}


# The committed calibration sets (calibration_data/<model>/), after everything they use is defined.
from edgekit.data.calibration import (  # noqa: E402
    CALIBRATION_MANIFEST, calibration_manifest_path, calibration_records, calibration_set, select_calibration,
    write_calibration_store,
)
