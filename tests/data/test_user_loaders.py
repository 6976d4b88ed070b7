"""User data loaders: manifest (CSV/JSONL), Speech-Commands folder, ImageFolder; good and broken."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgekit.data import user
from edgekit.errors import UserError
from edgekit.models import ModelSpec
from edgekit.preprocess import AudioSpec, ImageSpec

IMAGE_LABELS = ["cat", "dog", "bird"]
KWS_LABELS = ["_silence_", "_unknown_", "yes", "no"]


def image_spec(cohort_fields=("sensor", "lighting")) -> ModelSpec:
    return ModelSpec(name="user-img", task="image-classification", labels=IMAGE_LABELS,
                     preprocessing=ImageSpec(), cohort_fields=list(cohort_fields))


def audio_spec(labels=KWS_LABELS, cohort_fields=()) -> ModelSpec:
    return ModelSpec(name="user-kws", task="audio-classification", labels=list(labels),
                     preprocessing=AudioSpec(), cohort_fields=list(cohort_fields))


def write_png(path: Path, value: int = 100, size=(20, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)
    return path


def write_wav(path: Path, rate: int = 16000, channels: int = 1, width: int = 2, n: int = 1600, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = rng.integers(-3000, 3000, n * channels).astype("<i2" if width == 2 else "u1")
    if width == 1:
        data = rng.integers(0, 255, n * channels).astype("u1")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.tobytes())
    return path


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# ----------------------------------------------------------------------------- manifest

def test_csv_manifest_gives_labels_splits_and_cohorts(tmp_path):
    write_png(tmp_path / "img" / "a.png", 10)
    write_png(tmp_path / "img" / "b.png", 200)
    m = write_csv(tmp_path / "m.csv", "path,label,split,sensor,lighting,lux",
                  ["img/a.png,dog,train,imx219,dark,12.5", "img/b.png,bird,,ov2640,normal,300"])
    data = user.load_user_data(image_spec(), m)
    assert data.layout == "manifest" and data.skipped == []
    a, b = data.records
    assert (a.label, a.split, a.cohort) == (1, "train", {"sensor": "imx219", "lighting": "dark", "lux": 12.5})
    assert (b.label, b.split, b.id) == (2, "test", "img/b.png")  # split defaults to test, id to path
    assert b.path == (tmp_path / "img" / "b.png").resolve()
    raw = user.load_raw(image_spec(), b.path)
    assert raw.shape == (20, 30, 3) and raw.dtype == np.uint8 and int(raw[0, 0, 0]) == 200


def test_jsonl_manifest_for_audio(tmp_path):
    write_wav(tmp_path / "clips" / "1.wav", seed=1)
    lines = [{"path": "clips/1.wav", "label": "yes", "id": "clip-1", "mic": "mems", "snr_db": 10}]
    m = tmp_path / "m.jsonl"
    m.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    (r,) = user.load_user_data(audio_spec(cohort_fields=["mic", "snr_db"]), m).records
    assert (r.id, r.label, r.cohort) == ("clip-1", 2, {"mic": "mems", "snr_db": 10.0})
    pcm = user.load_raw(audio_spec(), r.path)
    assert pcm.dtype == np.int16 and pcm.shape == (1600,)


def test_manifest_without_a_cohort_column_is_a_user_error(tmp_path):
    write_png(tmp_path / "a.png")
    m = write_csv(tmp_path / "m.csv", "path,label,sensor", ["a.png,dog,imx219"])
    with pytest.raises(UserError, match=r"m\.csv: cohort field .*'lighting' missing"):
        user.load_user_data(image_spec(), m)


@pytest.fixture
def broken_image_manifest(tmp_path):
    write_png(tmp_path / "good.png")
    (tmp_path / "garbage.png").write_bytes(b"this is not a png")
    write_png(tmp_path / "other.png")
    m = write_csv(tmp_path / "m.csv", "path,label,sensor,lighting", [
        "good.png,dog,s1,dark",
        "missing.png,dog,s1,dark",
        "garbage.png,cat,s1,dark",
        "other.png,horse,s1,dark",      # unknown label
        "good.png,cat,s1,",             # empty cohort value
    ])
    return m


def test_bad_files_stop_the_run_naming_the_path(broken_image_manifest, tmp_path):
    with pytest.raises(UserError) as e:
        user.load_user_data(image_spec(), broken_image_manifest)
    msg = str(e.value)
    assert "\n" not in msg
    assert "--skip-bad" in msg and "more bad file" in msg
    assert msg.startswith(str(tmp_path))


def test_skip_bad_reports_every_bad_file_and_keeps_the_good(broken_image_manifest, tmp_path):
    data = user.load_user_data(image_spec(), broken_image_manifest, skip_bad=True)
    assert [r.path.name for r in data.records] == ["good.png"]
    problems = {Path(b.path).name: b.problem for b in data.skipped}
    assert problems["missing.png"] == "file not found"
    assert "not a readable image" in problems["garbage.png"]
    assert "label 'horse' is not one of" in problems["other.png"]
    assert "lighting empty" in problems["good.png"]
    assert len(data.skipped) == 4


@pytest.mark.parametrize("kwargs,problem", [
    ({"rate": 8000}, "sample rate 8000 Hz; the model expects 16000 Hz"),
    ({"channels": 2}, "2 channels; mono expected"),
    ({"width": 1}, "8-bit samples; 16-bit PCM expected"),
    ({"n": 0}, "no audio samples"),
])
def test_bad_wav_files(tmp_path, kwargs, problem):
    write_wav(tmp_path / "x.wav", **kwargs)
    m = write_csv(tmp_path / "m.csv", "path,label", ["x.wav,yes"])
    with pytest.raises(UserError, match=problem):
        user.load_user_data(audio_spec(), m)
    assert user.load_user_data(audio_spec(), m, skip_bad=True).records == []


# ----------------------------------------------------------------------------- folders

def test_speech_commands_folder(tmp_path):
    root = tmp_path / "sc"
    write_wav(root / "yes" / "aaa_nohash_0.wav")
    write_wav(root / "yes" / "bbb_nohash_0.wav")
    write_wav(root / "no" / "aaa_nohash_1.wav")
    write_wav(root / "bed" / "ccc_nohash_0.wav")          # not a label: -> _unknown_
    write_wav(root / "_background_noise_" / "white.wav", n=32000)
    (root / "testing_list.txt").write_text("yes/bbb_nohash_0.wav\n")
    (root / "validation_list.txt").write_text("no/aaa_nohash_1.wav\n")
    data = user.load_user_data(audio_spec(), root)
    assert data.layout == "speech-commands"
    got = {r.id: (KWS_LABELS[r.label], r.split, r.cohort) for r in data.records}
    assert got == {
        "yes/aaa_nohash_0.wav": ("yes", "train", {"speaker": "aaa", "word": "yes"}),
        "yes/bbb_nohash_0.wav": ("yes", "test", {"speaker": "bbb", "word": "yes"}),
        "no/aaa_nohash_1.wav": ("no", "val", {"speaker": "aaa", "word": "no"}),
        "bed/ccc_nohash_0.wav": ("_unknown_", "train", {"speaker": "ccc", "word": "bed"}),
    }


def test_speech_commands_word_without_unknown_label_is_bad(tmp_path):
    root = tmp_path / "sc"
    write_wav(root / "yes" / "a_nohash_0.wav")
    write_wav(root / "bed" / "a_nohash_0.wav")
    spec = audio_spec(labels=["yes", "no"])
    with pytest.raises(UserError, match=r"bed/a_nohash_0\.wav: folder 'bed' is not a model label"):
        user.load_user_data(spec, root)
    data = user.load_user_data(spec, root, skip_bad=True)
    assert [r.id for r in data.records] == ["yes/a_nohash_0.wav"] and len(data.skipped) == 1


def test_speech_commands_wrong_rate_reported(tmp_path):
    root = tmp_path / "sc"
    write_wav(root / "yes" / "a_nohash_0.wav", rate=44100)
    with pytest.raises(UserError, match=r"a_nohash_0\.wav: sample rate 44100 Hz"):
        user.load_user_data(audio_spec(), root)


def test_image_folder_with_split_subfolders(tmp_path):
    root = tmp_path / "imgs"
    write_png(root / "train" / "cat" / "1.png")
    write_png(root / "train" / "dog" / "2.png")
    write_png(root / "test" / "bird" / "3.png")
    data = user.load_user_data(image_spec(cohort_fields=()), root)
    got = sorted((r.id, IMAGE_LABELS[r.label], r.split) for r in data.records)
    assert got == [("test/bird/3.png", "bird", "test"), ("train/cat/1.png", "cat", "train"),
                   ("train/dog/2.png", "dog", "train")]


def test_image_folder_broken(tmp_path):
    root = tmp_path / "imgs"
    write_png(root / "cat" / "1.png")
    write_png(root / "horse" / "2.png")                    # unknown label
    (root / "dog").mkdir()
    (root / "dog" / "notes.txt").write_text("hello")       # not an image
    (root / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    spec = image_spec(cohort_fields=())
    with pytest.raises(UserError):
        user.load_user_data(spec, root)
    data = user.load_user_data(spec, root, skip_bad=True)
    assert [r.id for r in data.records] == ["cat/1.png"]
    assert {Path(b.path).name for b in data.skipped} == {"2.png", "notes.txt", "broken.jpg"}


def test_image_folder_cannot_satisfy_cohort_fields(tmp_path):
    write_png(tmp_path / "imgs" / "cat" / "1.png")
    with pytest.raises(UserError, match="describe the samples in a manifest"):
        user.load_user_data(image_spec(), tmp_path / "imgs")


# ----------------------------------------------------------------------------- through prepare()

def test_prepare_a_user_model_with_skip_bad(tmp_path, monkeypatch):
    from edgekit import data as data_lib
    from edgekit.models import load_model

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "mymodel"
    write_png(folder / "data" / "a.png")
    write_png(folder / "data" / "b.png")
    write_csv(folder / "data" / "manifest.csv", "path,label,split,sensor,lighting",
              ["a.png,cat,test,s1,dark", "b.png,dog,test,s2,bright", "gone.png,dog,test,s2,dark"])
    (folder / "model.yaml").write_text(
        "task: image-classification\nlabels: [cat, dog, bird]\ndataset: data\n"
        "cohort_fields: [sensor, lighting]\npreprocessing: {kind: image}\n")
    spec = load_model(str(folder))
    with pytest.raises(UserError, match="gone.png: file not found"):
        data_lib.prepare(spec)
    ds = data_lib.prepare(spec, skip_bad=True)
    assert sorted(r.id for r in ds.records) == ["a.png", "b.png"]
    assert [Path(b.path).name for b in user.read_skipped(ds.root)] == ["gone.png"]
    X, y, _ = data_lib.split_arrays(spec, "test")
    assert X.shape == (2, 96, 96, 3) and list(y) == [0, 1]
