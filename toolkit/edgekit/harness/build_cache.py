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

The kept result is a pickle in the user's own build folder, read back only by this module.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Optional

from edgekit import reportstore, resources
from edgekit.fileio import sha256_file

CACHE_NAME = "eval_build.pkl"
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
                 spec.model_dump_json() if hasattr(spec, "model_dump_json") else repr(spec),
                 target.model_dump_json() if hasattr(target, "model_dump_json") else repr(target),
                 repr(firmware_variant), extra):
        h.update(part.encode() + b"\0")
    _tree_digest(h, Path(edgekit.__file__).parent)
    _tree_digest(h, resources.firmware_dir())
    return h.hexdigest()


def build_for_eval(spec, target, firmware_variant: Optional[str], directory: Path, extra: str = ""):
    """edgekit.build.build(spec, target, firmware_variant, check_budgets=False), or its
    kept result when the inputs are unchanged (extra: more of them, e.g. the data hash: the
    build's inferences run test inputs). Returns (BuildResult, reused)."""
    from edgekit.build import build

    directory = Path(directory)
    cache = directory / CACHE_NAME
    key = inputs_key(spec, target, firmware_variant, directory, extra)
    if key is not None and cache.is_file():
        try:
            kept = pickle.loads(cache.read_bytes())
        except Exception:
            kept = None
        if (isinstance(kept, dict) and kept.get("key") == key and Path(kept["result"].elf).is_file()
                and sha256_file(Path(kept["result"].elf)) == kept["elf_sha256"]):
            for name, section in kept["sections"].items():
                reportstore.write_section(directory, name, section)
            return kept["result"], True
    res = build(spec, target, firmware_variant=firmware_variant, check_budgets=False)
    key = inputs_key(spec, target, firmware_variant, directory, extra)
    elf = getattr(res, "elf", None)
    if key is not None and elf is not None and Path(elf).is_file():
        report = reportstore.read_report(directory)
        kept = {"key": key, "result": res, "elf_sha256": sha256_file(Path(elf)),
                "sections": {n: report[n] for n in SECTIONS if n in report}}
        try:
            blob = pickle.dumps(kept)
        except Exception:
            return res, False  # a result that does not pickle is simply not kept
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, cache)
    return res, False
