"""User data: a cohort manifest, a Speech-Commands-style folder or an ImageFolder-style folder.

A model.yaml whose `dataset:` is not a generator name points (relative to model.yaml) at one
of three layouts; `edgekit data prepare --model <m>` checks every file and records the samples
in place (nothing is copied).

1. **Cohort manifest** (`*.csv` with a header row, or `*.jsonl` with one JSON object a line;
   a folder holding `manifest.csv` or `manifest.jsonl` counts as the manifest):

   | column  | required | meaning |
   |---------|----------|---------|
   | `path`  | yes | the sample file, relative to the manifest's folder (or absolute) |
   | `label` | yes | class NAME, exactly as in model.yaml `labels:` (numbers are not accepted, so a reordered label list cannot silently relabel data) |
   | `split` | no  | `train`, `val` or `test`; default `test` (user data is mostly for evaluation) |
   | `id`    | no  | unique sample id; default: `path` |
   | any other column | no | a cohort field (`sensor`, `lighting`, `mic`, `snr_db`, ...); values that read as numbers become floats |

   Every field in model.yaml `cohort_fields` must be a column, and non-empty on every row.
   Example (CSV):

       path,label,split,sensor,lighting
       img/0001.png,sneaker,test,imx219,dark
       img/0002.png,bag,test,ov2640,normal

2. **Speech-Commands-style folder** (audio models): `<root>/<word>/<speaker>_nohash_<n>.wav`.
   Folders named like a model label get that label; `_background_noise_` is ignored; any
   other word is labelled `_unknown_` if the model has that label (the Speech Commands
   convention; its cohort field `word` keeps the original word) and is a bad file otherwise.
   Optional `validation_list.txt` / `testing_list.txt` (paths relative to root, one a line)
   put files in val/test and the rest in train; without them every file is `test`.
   Cohort fields: `speaker` (the part of the file name before `_nohash_`) and `word`.

3. **ImageFolder-style folder** (image models): `<root>/<label>/*.png|jpg|jpeg|bmp|gif|webp`,
   optionally one level deeper per split: `<root>/<train|val|test>/<label>/...`. No cohort
   fields: a model with `cohort_fields` needs a manifest.

Audio must be mono 16-bit PCM WAV at the model's sample rate; images anything Pillow reads
(converted to 8-bit RGB). A bad file (missing, unreadable, wrong sample rate / channels /
sample width, unknown label, bad split, missing cohort value, duplicate id) stops the run with
exit 2 naming the file and the problem, or, with `--skip-bad`, is left out and listed in
`skipped.json` next to the prepared manifest (`read_skipped(root)`). A file is never given a
label it was not given by the user.
"""

from __future__ import annotations

import json
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from edgekit.errors import UserError

if TYPE_CHECKING:
    from edgekit.models import ModelSpec

Progress = Callable[[str, int, int], None]

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
AUDIO_SUFFIXES = {".wav"}
RESERVED_COLUMNS = {"path", "label", "split", "id"}
SKIPPED_NAME = "skipped.json"
UNKNOWN_LABEL = "_unknown_"
BACKGROUND_FOLDER = "_background_noise_"


@dataclass
class BadFile:
    path: str
    problem: str


@dataclass
class UserData:
    layout: str  # "manifest" | "speech-commands" | "image-folder"
    source: Path
    records: list = field(default_factory=list)  # list[SampleRecord]
    skipped: list[BadFile] = field(default_factory=list)


@dataclass
class _Candidate:
    id: str
    path: Path
    label_name: str
    split: str
    cohort: dict


# ----------------------------------------------------------------------------- reading files

def _is_audio(spec: "ModelSpec") -> bool:
    return spec.preprocessing.kind == "mfcc"


def read_wav(path: Path, sample_rate_hz: Optional[int] = None) -> np.ndarray:
    """Mono 16-bit PCM WAV -> int16 [samples]; ValueError naming the problem otherwise."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            data = w.readframes(frames)
    except FileNotFoundError:
        raise ValueError("file not found") from None
    except (wave.Error, EOFError, OSError) as exc:
        raise ValueError(f"not a readable PCM WAV file ({exc})") from None
    if channels != 1:
        raise ValueError(f"{channels} channels; mono expected (sox in.wav -c 1 out.wav)")
    if width != 2:
        raise ValueError(f"{8 * width}-bit samples; 16-bit PCM expected (sox in.wav -b 16 out.wav)")
    if sample_rate_hz is not None and rate != sample_rate_hz:
        raise ValueError(f"sample rate {rate} Hz; the model expects {sample_rate_hz} Hz "
                         f"(sox in.wav -r {sample_rate_hz} out.wav)")
    if len(data) < 2 * frames or frames == 0:
        raise ValueError("no audio samples (empty or truncated file)")
    return np.frombuffer(data[:2 * frames], dtype="<i2").astype(np.int16)


def read_image(path: Path) -> np.ndarray:
    """Any image Pillow reads -> uint8 [H, W, 3] RGB; ValueError naming the problem otherwise."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise ValueError("file not found") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"not a readable image ({exc})") from None


def load_raw(spec: "ModelSpec", path: Path) -> np.ndarray:
    """The raw sample of a user file: int16 PCM for audio models, uint8 HxWx3 RGB for image models."""
    try:
        if _is_audio(spec):
            return read_wav(Path(path), spec.preprocessing.sample_rate_hz)
        return read_image(Path(path))
    except ValueError as exc:
        raise UserError(f"{path}: {exc}; fix or remove the file and run `edgekit data prepare` again") from None


def _check_file(spec: "ModelSpec", path: Path) -> Optional[str]:
    """None if the file is usable by this model, else the problem."""
    if not path.is_file():
        return "file not found"
    try:
        if _is_audio(spec):
            read_wav(path, spec.preprocessing.sample_rate_hz)
        else:
            read_image(path)
    except ValueError as exc:
        return str(exc)
    return None


# ----------------------------------------------------------------------------- layouts

def _number_or_text(value) -> str | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text


def _manifest_rows(manifest: Path) -> list[tuple[str, dict]]:
    """(where, row) pairs; `where` is "file:line" for messages."""
    from edgekit.fileio import read_manifest_rows

    return read_manifest_rows(manifest, "path and label", "check the path in model.yaml dataset:")


def _from_manifest(spec: "ModelSpec", manifest: Path) -> tuple[list[_Candidate], list[BadFile]]:
    rows = _manifest_rows(manifest)
    if not rows:
        raise UserError(f"{manifest}: no samples; add rows with at least path and label")
    columns = set().union(*(r.keys() for _, r in rows))
    for needed in ["path", "label", *spec.cohort_fields]:
        if needed not in columns:
            what = "cohort field (model.yaml cohort_fields)" if needed in spec.cohort_fields else "column"
            raise UserError(f"{manifest}: {what} '{needed}' missing; add it to every row")
    candidates, bad = [], []
    for where, row in rows:
        raw_path = str(row.get("path") or "").strip()
        if not raw_path:
            bad.append(BadFile(where, "empty path"))
            continue
        p = Path(raw_path).expanduser()
        path = p if p.is_absolute() else manifest.parent / p
        empty = [f for f in spec.cohort_fields if row.get(f) is None or str(row.get(f)).strip() == ""]
        if empty:
            bad.append(BadFile(str(path), f"{where}: cohort field(s) {', '.join(empty)} empty"))
            continue
        cohort = {k: _number_or_text(v) for k, v in row.items()
                  if k not in RESERVED_COLUMNS and v is not None and str(v).strip() != ""}
        split = str(row.get("split") or "test").strip()
        sample_id = str(row.get("id") or "").strip() or raw_path
        label = row.get("label")
        candidates.append(_Candidate(sample_id, path, "" if label is None else str(label).strip(), split, cohort))
    return candidates, bad


def _split_lists(root: Path) -> dict[str, str]:
    out = {}
    for name, split in (("validation_list.txt", "val"), ("testing_list.txt", "test")):
        p = root / name
        if p.is_file():
            for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    out[Path(line.strip()).as_posix()] = split
    return out


def _from_speech_commands(spec: "ModelSpec", root: Path) -> tuple[list[_Candidate], list[BadFile]]:
    lists = _split_lists(root)
    default_split = "train" if lists else "test"
    labels = set(spec.labels)
    candidates, bad = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name == BACKGROUND_FOLDER or folder.name.startswith("."):
            continue
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in AUDIO_SUFFIXES or not f.is_file():
                continue
            rel = f.relative_to(root).as_posix()
            if folder.name in labels:
                label = folder.name
            elif UNKNOWN_LABEL in labels:
                label = UNKNOWN_LABEL
            else:
                bad.append(BadFile(str(f), f"folder '{folder.name}' is not a model label "
                                           f"and the model has no {UNKNOWN_LABEL} label"))
                continue
            speaker = f.stem.split("_nohash_")[0] if "_nohash_" in f.stem else f.stem
            candidates.append(_Candidate(rel, f, label, lists.get(rel, default_split),
                                         {"speaker": speaker, "word": folder.name}))
    return candidates, bad


def _from_image_folder(spec: "ModelSpec", root: Path) -> tuple[list[_Candidate], list[BadFile]]:
    split_dirs = [root / s for s in SPLITS if (root / s).is_dir()]
    bases = [(d, d.name) for d in split_dirs] if split_dirs else [(root, "test")]
    candidates, bad = [], []
    for base, split in bases:
        for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for f in sorted(folder.rglob("*")):
                if not f.is_file() or f.name.startswith("."):
                    continue
                if f.suffix.lower() not in IMAGE_SUFFIXES:
                    bad.append(BadFile(str(f), f"not an image file type ({', '.join(sorted(IMAGE_SUFFIXES))})"))
                    continue
                candidates.append(_Candidate(f.relative_to(root).as_posix(), f, folder.name, split, {}))
    return candidates, bad


def detect_layout(spec: "ModelSpec", source: Path) -> tuple[str, Path]:
    source = Path(source)
    if source.is_file():
        return "manifest", source
    if not source.is_dir():
        raise UserError(f"{source}: user dataset not found; model.yaml dataset: must name a generator, "
                        f"a manifest (.csv/.jsonl) or a folder of labelled files")
    for name in ("manifest.csv", "manifest.jsonl"):
        if (source / name).is_file():
            return "manifest", source / name
    return ("speech-commands" if _is_audio(spec) else "image-folder"), source


# ----------------------------------------------------------------------------- entry points

def load_user_data(spec: "ModelSpec", source: Path, skip_bad: bool = False, limit: Optional[int] = None,
                   progress: Optional[Progress] = None) -> UserData:
    """Find, check and label every sample of a user dataset; see the module docstring.

    Bad files raise UserError (one line: the first bad file, its problem, how many more) unless
    skip_bad, when they are left out and listed in `skipped`. `limit` keeps the first N
    samples (sorted by id) per split.
    """
    from edgekit.data import SampleRecord

    layout, where = detect_layout(spec, source)
    if layout == "manifest":
        candidates, bad = _from_manifest(spec, where)
    elif layout == "speech-commands":
        candidates, bad = _from_speech_commands(spec, where)
    else:
        candidates, bad = _from_image_folder(spec, where)
        if spec.cohort_fields and candidates:
            raise UserError(f"{where}: an image folder has no cohort fields but model.yaml cohort_fields "
                            f"lists {', '.join(spec.cohort_fields)}; describe the samples in a manifest "
                            f"(see `edgekit.data.user`)")
    if layout == "speech-commands" and spec.cohort_fields:
        missing = [f for f in spec.cohort_fields if f not in ("speaker", "word")]
        if missing and candidates:
            raise UserError(f"{where}: a Speech-Commands folder gives only the cohort fields speaker and word, "
                            f"not {', '.join(missing)}; describe the samples in a manifest (see `edgekit.data.user`)")

    label_index = {name: i for i, name in enumerate(spec.labels)}
    seen: dict[str, Path] = {}
    records = []
    for n, c in enumerate(candidates):
        problem = None
        if c.label_name not in label_index:
            problem = (f"label '{c.label_name}' is not one of the model's labels "
                       f"({', '.join(spec.labels)})")
        elif c.split not in SPLITS:
            problem = f"split '{c.split}' is not one of {', '.join(SPLITS)}"
        elif c.id in seen:
            problem = f"duplicate sample id '{c.id}' (also {seen[c.id]})"
        else:
            problem = _check_file(spec, c.path)
        if problem is not None:
            bad.append(BadFile(str(c.path), problem))
        else:
            seen[c.id] = c.path
            records.append(SampleRecord(id=c.id, path=c.path.resolve(), label=label_index[c.label_name],
                                        split=c.split, cohort=c.cohort))
        if progress is not None and (n % 200 == 0 or n == len(candidates) - 1):
            progress("checking user files", n + 1, len(candidates))

    if bad and not skip_bad:
        first = bad[0]
        more = f" (and {len(bad) - 1} more bad file(s))" if len(bad) > 1 else ""
        raise UserError(f"{first.path}: {first.problem}{more}; fix or remove it, or pass --skip-bad "
                        f"to leave bad files out")
    if limit is not None:
        kept = []
        for s in SPLITS:
            kept += sorted((r for r in records if r.split == s), key=lambda r: r.id)[:limit]
        records = kept
    return UserData(layout=layout, source=where, records=records, skipped=bad)


def load(spec: "ModelSpec", source: Path, out_dir: Path, seed: int = 0, limit: Optional[int] = None,
         skip_bad: bool = False, progress: Optional[Progress] = None) -> list:
    """The hook `edgekit.data.prepare` calls for a user dataset: the records (files stay where
    they are) and `skipped.json` in out_dir listing what --skip-bad left out. `seed` is unused:
    user data is taken as it is."""
    result = load_user_data(spec, source, skip_bad=skip_bad, limit=limit, progress=progress)
    from edgekit.reportstore import write_json_atomic

    write_json_atomic(Path(out_dir) / SKIPPED_NAME, {
        "layout": result.layout, "source": str(result.source), "n_samples": len(result.records),
        "skipped": [asdict(b) for b in result.skipped]})
    return result.records


def read_skipped(root: Path) -> list[BadFile]:
    """What --skip-bad left out of the prepared user dataset in `root` (empty if nothing)."""
    p = Path(root) / SKIPPED_NAME
    if not p.is_file():
        return []
    return [BadFile(**b) for b in json.loads(p.read_text()).get("skipped", [])]
