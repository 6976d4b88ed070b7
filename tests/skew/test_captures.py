"""Captures folders: every bad layout is one line naming the row and the fix (exit 2), or
with --skip-bad left out and listed. Fast: the rows are checked before any model runs."""

from __future__ import annotations

import csv
import json
import wave

import numpy as np
import pytest

from edgekit.errors import UserError
from edgekit.models import load_model
from edgekit.skew.captures import load_captures
from edgekit.skew.entrypoints import EntryPointContext

N = 4


def _wav(path, n=16000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(((np.arange(n) % 300) - 150).astype("<i2").tobytes())


def _folder(tmp_path, model="kws", mutate=None, fmt="csv"):
    """A small valid captures folder (N rows), then mutate(rows, folder) breaks it."""
    spec = load_model(model)
    d = tmp_path / "caps"
    d.mkdir(exist_ok=True)
    shape = tuple(spec.preprocessing.output_shape)
    rows = []
    for i in range(N):
        if model == "kws":
            _wav(d / f"r{i}.wav")
            raw = f"r{i}.wav"
        else:
            from PIL import Image

            Image.fromarray(np.full((120, 160, 3), 40 * i, np.uint8)).save(d / f"r{i}.png")
            raw = f"r{i}.png"
        np.save(d / f"t{i}.npy", np.zeros(shape, np.float32))
        rows.append({"id": f"s{i}", "raw": raw, "tensor": f"t{i}.npy", "label": spec.labels[i],
                     "device_model": "pixel-7" if i % 2 else "galaxy-s23"})
    if mutate:
        mutate(rows, d)
    if fmt == "csv":
        cols = list(dict.fromkeys(k for r in rows for k in r))
        with open(d / "manifest.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
    else:
        (d / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return spec, d


def _load(spec, d, skip_bad=False):
    return load_captures(EntryPointContext(spec, None), d, skip_bad=skip_bad)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_valid_folder_reads_rows_and_cohort_fields(tmp_path, fmt):
    spec, d = _folder(tmp_path, fmt=fmt)
    caps = _load(spec, d)
    assert len(caps.rows) == N and caps.labelled and caps.cohort_fields == ["device_model"]
    assert caps.rows[1].sample.cohort == {"device_model": "pixel-7"} and caps.rows[1].sample.label == 1
    assert caps.rows[0].sample.raw.dtype == np.int16 and caps.rows[0].tensor.dtype == np.float32


def _set(i, **kw):
    def mutate(rows, d):
        rows[i].update(kw)
    return mutate


def _save(name, arr):
    def mutate(rows, d):
        np.save(d / name, arr)
        rows[2]["tensor"] = name
    return mutate


BAD = [  # (model, mutate, words the one line must hold)
    ("kws", _set(2, raw="gone.wav"), ["caps/manifest.csv:4 (id s2)", "gone.wav", "not found"]),
    ("kws", _set(2, tensor="gone.npy"), ["(id s2)", "gone.npy not found"]),
    ("kws", _set(3, id="s1"), ["manifest.csv:5 (id s1)", "duplicate id (first at", "manifest.csv:3"]),
    ("kws", _set(1, label="maybe"), ["(id s1)", "label 'maybe' is not a label of kws", "yes, no"]),
    ("kws", _set(1, prediction="maybe"), ["(id s1)", "prediction 'maybe'"]),
    ("kws", _save("wide.npy", np.zeros((49, 12, 1), np.float32)), ["(id s2)", "(49, 12, 1)", "(49, 10, 1)"]),
    ("kws", _save("f64.npy", np.zeros((49, 10, 1), np.int32)), ["(id s2)", "dtype int32", "float32", "int8"]),
    ("mobilenetv2", _save("nchw.npy", np.zeros((3, 96, 96), np.float32)),
     ["(id s2)", "NCHW", "(96, 96, 3)", "np.transpose(t, (1, 2, 0))"]),
    ("mobilenetv2", _set(0, raw="t1.npy"), ["(id s0)", "image raw .npy must be uint8 [H, W, 3]"]),
]


@pytest.mark.parametrize("model, mutate, words", BAD)
def test_a_bad_row_is_one_line_naming_the_row_and_the_fix(tmp_path, model, mutate, words):
    spec, d = _folder(tmp_path, model, mutate)
    with pytest.raises(UserError) as e:
        _load(spec, d)
    msg = str(e.value)
    assert "\n" not in msg and "--skip-bad" in msg
    for w in words:
        assert w in msg, msg


def test_skip_bad_leaves_bad_rows_out_and_lists_them(tmp_path):
    def mutate(rows, d):
        rows[1]["raw"] = "gone.wav"
        rows[3]["label"] = "maybe"
    spec, d = _folder(tmp_path, "kws", mutate)
    caps = _load(spec, d, skip_bad=True)
    assert [r.sample.id for r in caps.rows] == ["s0", "s2"]
    assert [(b.id, "not found" in b.problem or "maybe" in b.problem) for b in caps.skipped] == \
        [("s1", True), ("s3", True)]


def test_the_captures_entry_point_brings_its_rows_cohort_fields_and_skipped_rows(tmp_path):
    """What the host skew reads from any entry point that provides its own samples."""
    from edgekit.skew.entrypoints import entry_point

    def mutate(rows, d):
        rows[2]["raw"] = "gone.wav"
    spec, d = _folder(tmp_path, "kws", mutate)
    ep = entry_point("captures", EntryPointContext(spec, None), d, skip_bad=True)
    assert ep.provides_samples and ep.skip_bad
    assert [s.id for s in ep.samples(())] == ["s0", "s1", "s3"]
    assert "device_model" in ep.cohort_fields
    assert [b["id"] for b in ep.skipped] == ["s2"]
    with pytest.raises(UserError, match="gone.wav"):
        entry_point("captures", EntryPointContext(spec, None), d)   # without --skip-bad: one line


@pytest.mark.parametrize("mutate, words", [
    (lambda rows, d: [r.pop("tensor") for r in rows], "column 'tensor' missing"),
    (lambda rows, d: rows[0].pop("label"), "1 of 4 rows have no label"),
])
def test_manifest_level_problems(tmp_path, mutate, words):
    spec, d = _folder(tmp_path, "kws", mutate, fmt="jsonl")
    with pytest.raises(UserError, match=words):
        _load(spec, d)


def test_no_manifest_and_not_a_folder(tmp_path):
    spec = load_model("kws")
    with pytest.raises(UserError, match="no manifest.csv or manifest.jsonl"):
        _load(spec, tmp_path)
    with pytest.raises(UserError, match="not a folder"):
        _load(spec, tmp_path / "nope")


def test_cli_bad_captures_is_exit_2_with_one_line(run_cli, tmp_path):
    _, d = _folder(tmp_path, "kws", _set(3, id="s1"))
    p = run_cli("skew", "--captures", str(d), "--model", "kws", "--target", "cortex-m4")
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert len(lines) == 1 and "duplicate id" in lines[0] and "manifest.csv:5" in lines[0]


def test_cli_bad_frontend_python_is_exit_2_with_one_line(run_cli, tmp_path):
    (tmp_path / "fe.py").write_text("def pre(raw):\n    return raw\n")
    p = run_cli("skew", "--frontend-python", f"{tmp_path / 'fe.py'}:prep", "--model", "kws", "--target", "cortex-m4")
    assert p.returncode == 2 and "has no function prep; functions there: pre" in p.stderr, p.stderr
    p = run_cli("skew", "--frontend-python", "x.py:f", "--captures", str(tmp_path), "-m", "kws", "-t", "cortex-m4")
    assert p.returncode == 2 and "give one preprocessing" in p.stderr
