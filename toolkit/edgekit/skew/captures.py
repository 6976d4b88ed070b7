"""Captures: model-input tensors a fleet's devices produced, with the raw inputs they came
from (docs/ARCHITECTURE.md, contract "captures").

DIR/manifest.csv or DIR/manifest.jsonl, one row per sample, paths relative to DIR:

    id        unique sample id
    raw       the raw input: .wav (16-bit mono PCM at the model's rate), an image file
              Pillow reads, or .npy (int16 PCM / uint8 HxWx3)
    tensor    .npy, the model input the device produced: float32 in model-input units
              (after normalisation), or int8/uint8 already quantized (taken from its dtype)
    output    optional .npy, the device's output scores (one per label)
    prediction optional, the device's predicted label name
    label     optional, the true label name
    ...       every other column is a cohort field (device_model, firmware, os, lighting, ...)

Every row is checked before anything runs; a bad row is a UserError (exit 2) naming the
line, the id and the fix, or with skip_bad it is left out and listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit.errors import UserError
from edgekit.fileio import read_manifest_rows
from edgekit.skew.entrypoints import EntryPointContext, RawSample, check_tensor

MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl")
REQUIRED = ("id", "raw", "tensor")
OPTIONAL = ("output", "prediction", "label")


@dataclass(frozen=True)
class CaptureRow:
    sample: RawSample
    tensor: np.ndarray                      # int8 or float32, the model's input shape
    output: Optional[np.ndarray] = None     # device scores
    prediction: Optional[int] = None        # device prediction (label index)


@dataclass(frozen=True)
class BadRow:
    where: str       # manifest:line
    id: str
    problem: str


@dataclass
class Captures:
    directory: Path
    manifest: Path
    rows: list[CaptureRow]
    skipped: list[BadRow] = field(default_factory=list)
    cohort_fields: list[str] = field(default_factory=list)
    labelled: bool = False
    has_device_outputs: bool = False


def _value(v) -> str:
    return "" if v is None else str(v).strip()


def _load_raw(spec, path: Path) -> np.ndarray:
    from edgekit.data.user import read_image, read_wav

    audio = spec.preprocessing.kind == "mfcc"
    if path.suffix.lower() == ".npy":
        arr = _load_npy(path)
        if audio and (arr.dtype != np.int16 or arr.ndim != 1):
            raise ValueError(f"raw {path.name} is {arr.dtype} {arr.shape}; audio raw .npy must be int16 PCM [samples]")
        if not audio and (arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[-1] != 3):
            raise ValueError(f"raw {path.name} is {arr.dtype} {arr.shape}; image raw .npy must be uint8 [H, W, 3] RGB")
        return arr
    if audio:
        try:
            return read_wav(path, spec.preprocessing.sample_rate_hz)
        except ValueError as exc:
            raise ValueError(f"raw {path.name}: {exc}") from None
    try:
        return read_image(path)
    except ValueError as exc:
        raise ValueError(f"raw {path.name}: {exc}") from None


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ValueError(f"{path.name} not found in {path.parent}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path.name} is not a readable .npy array ({exc}); save it with np.save") from None


def _label_index(spec, name: str, column: str) -> int:
    if name not in spec.labels:
        raise ValueError(f"{column} {name!r} is not a label of {spec.name}; labels: {', '.join(spec.labels)}")
    return spec.labels.index(name)


def _row(context: EntryPointContext, directory: Path, row: dict, cohort_fields: list[str]) -> CaptureRow:
    spec = context.spec
    raw = _load_raw(spec, directory / _value(row["raw"]))
    t = _load_npy(directory / _value(row["tensor"]))
    tensor, why = check_tensor(context, t, f"tensor {_value(row['tensor'])}")
    if why is not None:
        raise ValueError(why)
    output = None
    if _value(row.get("output")):
        output = _load_npy(directory / _value(row["output"])).astype(np.float64).reshape(-1)
        if output.size != len(spec.labels):
            raise ValueError(f"output {_value(row['output'])} has {output.size} scores; "
                             f"{spec.name} has {len(spec.labels)} labels")
    pred = _label_index(spec, _value(row["prediction"]), "prediction") if _value(row.get("prediction")) else None
    label = _label_index(spec, _value(row["label"]), "label") if _value(row.get("label")) else None
    cohort = {f: _value(row.get(f)) for f in cohort_fields if _value(row.get(f))}
    return CaptureRow(RawSample(_value(row["id"]), raw, cohort, label), tensor, output, pred)


def load_captures(context: EntryPointContext, directory, skip_bad: bool = False) -> Captures:
    """DIR -> Captures, every row checked (see the module docstring)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"--captures {directory}: not a folder; give the folder holding manifest.csv or manifest.jsonl")
    found = [directory / n for n in MANIFEST_NAMES if (directory / n).is_file()]
    if not found:
        raise UserError(f"--captures {directory}: no manifest.csv or manifest.jsonl there; write one with "
                        f"columns id,raw,tensor[,output,prediction,label,<cohort fields>]")
    manifest = found[0]
    raw_rows = read_manifest_rows(manifest, "id, raw and tensor", "give a UTF-8 CSV or JSONL manifest")
    if not raw_rows:
        raise UserError(f"{manifest}: no rows; add one row per captured sample (id,raw,tensor,...)")
    columns = list(dict.fromkeys(k for _, r in raw_rows for k in r))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise UserError(f"{manifest}: column {missing[0]!r} missing; the manifest needs id, raw and tensor "
                        f"(columns found: {', '.join(columns)})")
    cohort_fields = [c for c in columns if c not in REQUIRED + OPTIONAL]
    rows: list[CaptureRow] = []
    bad: list[BadRow] = []
    seen: dict[str, str] = {}
    for where, r in raw_rows:
        sid = _value(r.get("id"))
        try:
            if not sid:
                raise ValueError("empty id; give every row a unique id")
            if sid in seen:
                raise ValueError(f"duplicate id (first at {seen[sid]}); ids must be unique")
            seen[sid] = where
            for c in REQUIRED[1:]:
                if not _value(r.get(c)):
                    raise ValueError(f"empty {c}; give the file name relative to {directory}")
            rows.append(_row(context, directory, r, cohort_fields))
        except ValueError as exc:
            if not skip_bad:
                raise UserError(f"{where} (id {sid or '?'}): {exc}; fix the row, or pass --skip-bad "
                                f"to leave it out") from None
            bad.append(BadRow(where, sid, str(exc)))
    if not rows:
        raise UserError(f"{manifest}: every row is bad ({len(bad)}); the first: {bad[0].where}: {bad[0].problem}")
    labelled = all(c.sample.label is not None for c in rows)
    if not labelled and any(c.sample.label is not None for c in rows):
        n = sum(1 for c in rows if c.sample.label is None)
        raise UserError(f"{manifest}: {n} of {len(rows)} rows have no label; label every row or none "
                        f"(without labels the flip rate vs the reference stands in for accuracy)")
    return Captures(directory, manifest, rows, bad, cohort_fields, labelled,
                    any(c.output is not None or c.prediction is not None for c in rows))
