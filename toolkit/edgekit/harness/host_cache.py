"""The two host reference paths (float on Keras, int8 on LiteRT's reference kernels) kept per
sample, so that a later `edgekit eval` of the same model and data reads them back instead of
computing them again (docs/ARCHITECTURE.md, "Per-sample record").

Computing them is the largest host cost of a run (loading Keras and TensorFlow alone takes
~15 s of CPU), and they depend only on the float weights, the int8 .tflite, the versions of
the interpreters that ran them (the key: another key is another file) and the sample's own
input (a digest of its float and quantized feature bytes, kept per sample and compared on
every read); never on the firmware or the device. So an entry is never reused for inputs it
was not computed from. The values are the exact arrays
(float64 scores, int32 outputs): a record built from the cache equals one built without it.

Files: <stage dir>/host_reference/<key digest>.npz (ids, input digests, float scores, int8 outputs) with
the key beside it (<digest>.json, for a reader); written atomically, a file that does not
load or holds other shapes is a miss.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from edgekit.fileio import write_atomic

CACHE_DIR = "host_reference"
KEY_VERSION = 1
# The interpreters the two paths run on: a different version may compute other numbers.
_INTERPRETER_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "ai-edge-litert", "numpy")


def interpreter_versions() -> dict:
    """Installed versions of the packages the host paths run on (read from package metadata:
    importing TensorFlow to ask it would cost what the cache saves)."""
    out = {}
    for name in _INTERPRETER_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@dataclass
class HostReferenceCache:
    """Per-sample host reference outputs for one key (see the module docstring)."""

    directory: Path
    key: dict
    reused: int = 0       # samples of this run read from the cache
    computed: int = 0     # samples of this run computed (and added to the cache)

    def __post_init__(self):
        self.directory = Path(self.directory) / CACHE_DIR
        full = {"key_version": KEY_VERSION, **self.key, "interpreters": interpreter_versions()}
        self.key = full
        self.digest = hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:24]
        self.path = self.directory / f"{self.digest}.npz"

    def load(self) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
        """sample id -> (input digest, float scores, int8 outputs as int32); empty when absent
        or unreadable."""
        try:
            with np.load(self.path, allow_pickle=False) as z:
                ids, dig, fs, iq = z["ids"], z["input_digest"], z["float_scores"], z["int8_out"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return {}
        if fs.ndim != 2 or iq.ndim != 2 or not len(ids) == len(dig) == len(fs) == len(iq):
            return {}
        return {str(i): (str(dig[k]), fs[k], iq[k]) for k, i in enumerate(ids)}

    def save(self, entries: dict[str, tuple[str, np.ndarray, np.ndarray]]) -> None:
        if not entries:
            return
        ids = sorted(entries)
        buf = io.BytesIO()
        np.savez(buf, ids=np.array(ids), input_digest=np.array([entries[i][0] for i in ids]),
                 float_scores=np.stack([entries[i][1] for i in ids]),
                 int8_out=np.stack([entries[i][2] for i in ids]))
        write_atomic(self.path, buf.getvalue())
        write_atomic(self.directory / f"{self.digest}.json", json.dumps(self.key, indent=2, sort_keys=True) + "\n")


def host_reference_arrays(ids: Sequence[str], X: np.ndarray, xq: np.ndarray,
                          float_scores: Callable[[np.ndarray], np.ndarray], tflite: Path,
                          cache: Optional[HostReferenceCache] = None) -> tuple[np.ndarray, np.ndarray]:
    """(float scores [N, classes], int8 outputs [N, classes] as int32) for the samples `ids`
    (rows of X and xq): from the cache where it has them, computed (and added) otherwise."""
    from edgekit import interpreters

    known = cache.load() if cache is not None else {}
    digests = [input_digest(X[k], xq[k]) for k in range(len(ids))] if cache is not None else [""] * len(ids)
    miss = [k for k, i in enumerate(ids) if i not in known or known[i][0] != digests[k]]
    if miss:
        m = np.array(miss, dtype=np.int64)
        fs = np.asarray(float_scores(X[m]), dtype=np.float64)
        iq = interpreters.run_litert_ref(tflite, xq[m]).reshape(len(miss), -1).astype(np.int32)
        for j, k in enumerate(miss):
            known[ids[k]] = (digests[k], fs[j], iq[j])
        if cache is not None:
            cache.save(known)
    if cache is not None:
        cache.reused += len(ids) - len(miss)
        cache.computed += len(miss)
    if not ids:
        return np.zeros((0, 0)), np.zeros((0, 0), dtype=np.int32)
    return (np.stack([known[i][1] for i in ids]), np.stack([known[i][2] for i in ids]))


def input_digest(x: np.ndarray, xq: np.ndarray) -> str:
    """What one sample's host paths read: its float features and its quantized features."""
    h = hashlib.sha256()
    for a in (x, xq):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:32]
