"""The firmware build `edgekit eval` needs, reused while nothing it was made from changed
(docs/ARCHITECTURE.md, harness).

An evaluation starts with `edgekit build` (codegen, link, a few inferences on QEMU checked
against tflite-micro, a traced inference for the cycle estimate). With the same inputs that
build measures the same figures again, at a cost of seconds per evaluation (a quarter of a
whole KWS split's wall time on two cores). So the result is kept next to the build with a key
over everything it depends on: the int8 model and float weights, the model spec, the target
profile, the firmware variant, and the content of edgekit's own sources and firmware tree
(any code change is a new key). A hit re-writes the report sections the build wrote
("build", "budget") from the kept copies, so report.json reads as after a fresh build; a
changed or missing ELF is a miss.

The kept result is plain JSON (`eval_build.json`, with a format version): the BuildResult's
fields as numbers, strings, lists and dicts, paths as strings, the budget as its rows. A file
that does not parse, has another version or another shape is ignored and the build runs again
(and overwrites it); an earlier session's `eval_build.pkl` is never read, only removed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Optional

from edgekit import reportstore, resources
from edgekit.budget import BudgetResult, BudgetRow
from edgekit.fileio import sha256_file, write_atomic
from edgekit.runtimes.base import BuildResult

CACHE_NAME = "eval_build.json"
FORMAT_VERSION = 1
_OLD_PICKLE = "eval_build.pkl"   # what earlier versions kept; never unpickled
_PATH_FIELDS = ("out_dir", "report", "elf")
_PATH_LIST_FIELDS = ("sources", "include_dirs")
SECTIONS = ("build", "budget")
_CODE_SUFFIXES = {".py", ".c", ".h", ".S", ".s", ".ld", ".yaml", ".j2", ".txt"}


def _tree_digest(h, root: Path) -> None:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.suffix in _CODE_SUFFIXES:
                h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")


def inputs_key(spec, target, firmware_variant: Optional[str], directory: Path, extra: str = "") -> Optional[str]:
    """The key of what a build from these inputs measures; None when there is no int8 model
    yet, or the weights are newer than it (the build would convert again)."""
    import edgekit

    tflite = Path(directory) / "model_int8.tflite"
    weights = Path(spec.weights_path)
    if not tflite.is_file() or (weights.is_file() and weights.stat().st_mtime > tflite.stat().st_mtime):
        return None
    h = hashlib.sha256()
    for part in (sha256_file(tflite), sha256_file(weights) if weights.is_file() else "-",
                 spec.model_dump_json(), target.model_dump_json(),
                 repr(firmware_variant), extra):
        h.update(part.encode() + b"\0")
    _tree_digest(h, Path(edgekit.__file__).parent)
    _tree_digest(h, resources.firmware_dir())
    return h.hexdigest()


def result_to_json(res) -> Optional[dict]:
    """The BuildResult as plain data, or None when it holds something that is not (an NPU
    build's result: those targets are not evaluated through this cache)."""
    if not isinstance(res, BuildResult) or res.npu is not None:
        return None
    out = {}
    for f in fields(BuildResult):
        value = getattr(res, f.name)
        if f.name in _PATH_FIELDS:
            value = None if value is None else str(value)
        elif f.name in _PATH_LIST_FIELDS:
            value = [str(p) for p in value]
        elif f.name == "budget" and value is not None:
            value = {"target": value.target, "rows": [asdict(r) for r in value.rows]}
        out[f.name] = value
    try:
        json.dumps(out)
    except (TypeError, ValueError):
        return None
    return out


def result_from_json(data) -> Optional[BuildResult]:
    """The BuildResult result_to_json wrote, or None when `data` is not one."""
    if not isinstance(data, dict) or set(data) != {f.name for f in fields(BuildResult)}:
        return None
    try:
        kw = dict(data)
        for name in _PATH_FIELDS:
            kw[name] = None if kw[name] is None else Path(kw[name])
        for name in _PATH_LIST_FIELDS:
            kw[name] = [Path(p) for p in kw[name]]
        if kw["budget"] is not None:
            kw["budget"] = BudgetResult(kw["budget"]["target"], [BudgetRow(**r) for r in kw["budget"]["rows"]])
        return BuildResult(**kw)
    except (KeyError, TypeError, ValueError):
        return None


def load_kept(directory: Path, key: str) -> Optional[BuildResult]:
    """The kept result for `key` (its report sections re-written), or None: no file, a file
    that does not parse or is of another version or shape, another key, a changed or missing ELF."""
    directory = Path(directory)
    try:
        kept = json.loads((directory / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("version") != FORMAT_VERSION or kept.get("key") != key:
        return None
    res = result_from_json(kept.get("result"))
    sections = kept.get("sections")
    if res is None or res.elf is None or not isinstance(sections, dict) or not res.elf.is_file() \
            or sha256_file(res.elf) != kept.get("elf_sha256"):
        return None
    for name, section in sections.items():
        reportstore.write_section(directory, name, section)
    return res


def keep(directory: Path, key: str, res) -> bool:
    """Keep `res` (and the report sections its build wrote) under `key`; False when it is not
    plain data or has no ELF (then nothing is kept and the next evaluation builds again)."""
    directory = Path(directory)
    plain = result_to_json(res)
    if plain is None or res.elf is None or not Path(res.elf).is_file():
        return False
    report = reportstore.read_report(directory)
    kept = {"version": FORMAT_VERSION, "key": key, "elf_sha256": sha256_file(Path(res.elf)),
            "result": plain, "sections": {n: report[n] for n in SECTIONS if n in report}}
    try:
        text = json.dumps(kept, indent=1) + "\n"
    except (TypeError, ValueError):
        return False  # a report section that is not plain JSON: not kept
    write_atomic(directory / CACHE_NAME, text)
    (directory / _OLD_PICKLE).unlink(missing_ok=True)
    return True


def build_for_eval(spec, target, firmware_variant: Optional[str], directory: Path, extra: str = ""):
    """edgekit.build.build(spec, target, firmware_variant, check_budgets=False), or its
    kept result when the inputs are unchanged (extra: more of them, e.g. the data hash: the
    build's inferences run test inputs). Returns (BuildResult, reused)."""
    from edgekit.build import build

    directory = Path(directory)
    key = inputs_key(spec, target, firmware_variant, directory, extra)
    if key is not None:
        kept = load_kept(directory, key)
        if kept is not None:
            return kept, True
    res = build(spec, target, firmware_variant=firmware_variant, check_budgets=False)
    key = inputs_key(spec, target, firmware_variant, directory, extra)
    if key is not None:
        keep(directory, key, res)
    return res, False
