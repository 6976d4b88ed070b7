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


def _kept_build(tmp_path):
    """A BuildResult as edgekit build returns one for edgekit-micro, with a real file for its ELF."""
    from pathlib import Path

    from edgekit import reportstore
    from edgekit.budget import BudgetResult, BudgetRow
    from edgekit.runtimes.base import BuildResult

    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF firmware")
    reportstore.write_section(tmp_path, "build", {"flash_bytes": 1234, "per_op": {"CONV_2D": 10}})
    reportstore.write_section(tmp_path, "budget", {"passed": True})
    row = BudgetRow("flash", 1234.0, 4096.0, 2862.0, "B", "measured from link", True)
    return BuildResult(target="cortex-m4", model="kws", runtime="edgekit-micro", out_dir=tmp_path,
                       report=tmp_path / "report.json", elf=elf, flash_bytes=1234, ram_bytes=99,
                       sizes={"text": 1000}, budget=BudgetResult("cortex-m4", [row]), notes=["n"],
                       sources=[Path("a.c"), Path("b.c")], defines={"EK_X": "1"},
                       cycles={"cycles_per_instruction": 1.3})


def test_the_kept_build_is_plain_json_read_back_equal(tmp_path):
    import json

    from edgekit import reportstore
    from edgekit.harness import build_cache

    res = _kept_build(tmp_path)
    assert build_cache.keep(tmp_path, "k1", res)
    kept = json.loads((tmp_path / build_cache.CACHE_NAME).read_text())   # plain JSON, versioned
    assert kept["version"] == build_cache.FORMAT_VERSION and kept["result"]["elf"] == str(res.elf)
    reportstore.write_section(tmp_path, "build", {"changed": True})
    back = build_cache.load_kept(tmp_path, "k1")
    assert back == res and back.budget.passed
    # a hit re-writes the build's sections as they were after the build
    assert reportstore.read_report(tmp_path)["build"] == {"flash_bytes": 1234, "per_op": {"CONV_2D": 10}}
    assert build_cache.load_kept(tmp_path, "another key") is None


def test_a_corrupt_or_old_cache_file_is_a_miss_not_a_traceback(tmp_path):
    import json
    import pickle

    from edgekit.harness import build_cache

    res = _kept_build(tmp_path)
    cache = tmp_path / build_cache.CACHE_NAME
    assert build_cache.keep(tmp_path, "k1", res)
    good = json.loads(cache.read_text())
    bad_contents = [b"", b"\xff\xfe not utf-8", b"{\"version\": 1, \"key\": ", b"[1, 2]", b"null",
                    pickle.dumps({"key": "k1", "result": res}),
                    json.dumps({**good, "version": 0}).encode(),                       # another version
                    json.dumps({**good, "result": {**good["result"], "extra": 1}}).encode(),
                    json.dumps({**good, "result": {**good["result"], "budget": {"rows": 3}}}).encode(),
                    json.dumps({**good, "sections": []}).encode(),
                    json.dumps({**good, "elf_sha256": "0" * 64}).encode()]          # the ELF changed
    for blob in bad_contents:
        cache.write_bytes(blob)
        assert build_cache.load_kept(tmp_path, "k1") is None, blob[:40]
    cache.write_text(json.dumps(good))
    assert build_cache.load_kept(tmp_path, "k1") == res
    res.elf.unlink()
    assert build_cache.load_kept(tmp_path, "k1") is None                              # the ELF is gone


def test_a_result_that_is_not_plain_data_is_not_kept(tmp_path):
    from edgekit.harness import build_cache

    res = _kept_build(tmp_path)
    (tmp_path / "eval_build.pkl").write_bytes(b"an earlier session's pickle")
    res.npu = object()                                   # an NPU build result: not this cache's
    assert not build_cache.keep(tmp_path, "k1", res)
    res.npu, res.defines = None, {"EK_X": object()}
    assert not build_cache.keep(tmp_path, "k1", res)
    assert not (tmp_path / build_cache.CACHE_NAME).exists()
    res.defines = {}
    assert build_cache.keep(tmp_path, "k1", res)
    assert not (tmp_path / "eval_build.pkl").exists()    # the old pickle is removed, never read
