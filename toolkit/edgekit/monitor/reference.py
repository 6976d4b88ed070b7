"""The int8 model on the test split, summarised per sample and cached (docs/ARCHITECTURE.md,
monitor).

A "path" says how the model input is made from each raw test sample:

- `reference`: the Python reference preprocessing (what training saw); the check's baseline;
- `firmware:<variant>`: the host build of that firmware variant's C frontend (what a
  device on that firmware computes; `default` is the spec's own frontend);
- `degraded:<level>`: the raw input first passed through a sensor degradation (a
  registered kind, see edgekit.monitor.degradations), then the default C frontend.

Each path runs the whole test split once through the real int8 model (LiteRT reference
kernels), measured; the per-sample summary parts are cached under
build/<target>/<model>/monitor/cache/, keyed by the model file, the data and the path, so
fleet simulation and checks afterwards cost no inference.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit import resources
from edgekit.errors import UserError
from edgekit.monitor.summary import PerSample, per_sample

CACHE_VERSION = 1


@dataclass
class ReferenceSet:
    """Per-sample summary parts of one path over the test split, with labels and cohorts."""

    path: str
    samples: PerSample
    labels: np.ndarray             # [N]
    cohorts: list[dict]            # dataset cohort metadata of each sample
    classes: int
    tflite_sha256: str

    @property
    def correct(self) -> np.ndarray:
        return self.samples.pred == self.labels

    def indices(self, **where) -> np.ndarray:
        """Samples whose dataset cohort matches every field=value given."""
        keep = [i for i, c in enumerate(self.cohorts)
                if all(str(c.get(k)) == str(v) for k, v in where.items())]
        return np.asarray(keep, np.int64)


def int8_model(spec, target, progress=None) -> Path:
    """The int8 .tflite of this model for this target (converted when missing or stale)."""
    from edgekit.convert import int8_model as stage_int8  # the one "int8 model for this target" helper

    return stage_int8(spec, target, progress=progress)


def _cache_path(target_name: str, spec, key: str) -> Path:
    return resources.stage_dir(target_name, spec.name) / "monitor" / "cache" / f"{key}.npz"


def _inputs_for(spec, path: str, raws_fn, tflite: Path, degradation=None) -> np.ndarray:
    from edgekit.frontends import build_host, get_variant, input_quant_of
    from edgekit.frontends.parity import reference_int8

    q = input_quant_of(tflite)
    if path == "reference":
        return np.stack([reference_int8(spec.preprocessing, r, q) for r in raws_fn()])
    kind, _, arg = path.partition(":")
    if kind == "firmware":
        fe = build_host(spec, get_variant(spec, arg or "default"), q)
        return np.stack([fe.run(r) for r in raws_fn()])
    if kind == "degraded":
        if degradation is None:
            raise ValueError(f"path {path}: needs the degradation that makes it")
        fe = build_host(spec, get_variant(spec, "default"), q)
        rng = np.random.default_rng(int(hashlib.sha256(path.encode()).hexdigest()[:8], 16))
        return np.stack([fe.run(degradation(r, rng)) for r in raws_fn()])
    raise ValueError(f"unknown input path {path!r} (reference, firmware:<variant>, degraded:<level>)")


def reference_set(spec, target, path: str = "reference", degradation=None, degradation_key: str = "",
                  progress=None) -> ReferenceSet:
    """The per-sample summary parts of `path` on the test split (cached; see module doc)."""
    from edgekit import data, interpreters
    from edgekit.fileio import sha256_file

    tflite = int8_model(spec, target, progress)
    sha = sha256_file(tflite)
    ds = data.load_dataset(spec)
    records = ds.split("test")
    if not records:
        raise UserError(f"model {spec.name}: the prepared dataset has no test split; "
                        f"run `edgekit data prepare --model {spec.name}`")
    key = hashlib.sha256(json.dumps([CACHE_VERSION, sha, ds.data_hash, path, degradation_key]).encode()).hexdigest()[:16]
    cache = _cache_path(target.name, spec, key)
    labels = np.array([r.label for r in records], np.int64)
    cohorts = [dict(r.cohort) for r in records]
    if cache.is_file():
        z = np.load(cache)
        ps = PerSample(z["pred"], z["conf_bin"], z["fsum"], z["fsq"], int(z["felems"]))
        return ReferenceSet(path, ps, labels, cohorts, len(spec.labels), sha)
    if progress:
        progress(f"monitor reference: {path}", 0, len(records))
    x = _inputs_for(spec, path, lambda: (data.load_raw(spec, r) for r in records), tflite, degradation)
    _, out_q = interpreters.io_quant(tflite)
    # Outputs are cached by the inputs too: paths that make the same inputs (the reference and
    # a bit-exact default frontend) run the model once.
    out_cache = cache.parent / f"outputs-{hashlib.sha256(sha.encode() + x.tobytes()).hexdigest()[:16]}.npy"
    if out_cache.is_file():
        y = np.load(out_cache)
    else:
        y = interpreters.run_litert_ref(tflite, x).reshape(len(records), -1)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(out_cache.with_suffix(".tmp.npy"), y)
        out_cache.with_suffix(".tmp.npy").replace(out_cache)
    ps = per_sample(x, y, out_q.dtype)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, pred=ps.pred, conf_bin=ps.conf_bin, fsum=ps.feature_sum, fsq=ps.feature_sumsq,
             felems=np.int64(ps.feature_elements))
    tmp.replace(cache)
    if progress:
        progress(f"monitor reference: {path}", len(records), len(records))
    return ReferenceSet(path, ps, labels, cohorts, len(spec.labels), sha)


def model_and_target(model: str, target: Optional[str]):
    """(ModelSpec, TargetProfile) from names (the CLI's and the benchmarks' entry)."""
    from edgekit.models import load_model
    from edgekit.targets import load_target

    return load_model(model), load_target(target or "cortex-m4")
