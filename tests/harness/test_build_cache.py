"""The key under which `edgekit eval` reuses a build (harness/build_cache.py): it changes with
every input of the build and only then. The reuse itself is exercised end to end by
test_eval_qemu.py (a rerun reuses the build and ends with the same eval section)."""

from __future__ import annotations

import os
import shutil

from edgekit.harness.build_cache import inputs_key
from edgekit.models import load_model
from edgekit.targets import load_target


def test_key_follows_the_inputs(tmp_path):
    spec, m4, m7 = load_model("kws"), load_target("cortex-m4"), load_target("cortex-m7")
    assert inputs_key(spec, m4, None, tmp_path) is None          # no int8 model yet: build first
    tfl = tmp_path / "model_int8.tflite"
    tfl.write_bytes(b"model one")
    os.utime(tfl, (spec.weights_path.stat().st_mtime + 10,) * 2)
    key = inputs_key(spec, m4, None, tmp_path)
    assert key is not None and key == inputs_key(spec, m4, None, tmp_path)
    assert inputs_key(spec, m4, "fixed-q15", tmp_path) != key     # firmware variant
    assert inputs_key(spec, m7, None, tmp_path) != key            # target profile
    assert inputs_key(spec, m4, None, tmp_path, extra="other data") != key
    tfl.write_bytes(b"model two")
    os.utime(tfl, (spec.weights_path.stat().st_mtime + 10,) * 2)
    assert inputs_key(spec, m4, None, tmp_path) != key            # int8 model
    os.utime(tfl, (spec.weights_path.stat().st_mtime - 10,) * 2)
    assert inputs_key(spec, m4, None, tmp_path) is None           # weights newer: the build converts again


def test_key_follows_edgekits_own_code(tmp_path, monkeypatch):
    import edgekit

    spec, m4 = load_model("kws"), load_target("cortex-m4")
    tfl = tmp_path / "model_int8.tflite"
    tfl.write_bytes(b"model")
    os.utime(tfl, (spec.weights_path.stat().st_mtime + 10,) * 2)
    pkg = tmp_path / "pkg" / "edgekit"
    shutil.copytree(os.path.dirname(edgekit.__file__), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(edgekit, "__file__", str(pkg / "__init__.py"))
    key = inputs_key(spec, m4, None, tmp_path)
    (pkg / "harness" / "summary.py").write_text((pkg / "harness" / "summary.py").read_text() + "\n# changed\n")
    assert inputs_key(spec, m4, None, tmp_path) != key
