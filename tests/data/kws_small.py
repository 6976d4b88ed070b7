"""A tiny real KWS dataset (espeak-ng, a few clips per split) in a scratch cache, shared by tests."""

from __future__ import annotations

from pathlib import Path

import pytest

LIMIT = 24  # clips per split: two of every class


def prepare_small(cache: Path, monkeypatch: pytest.MonkeyPatch, limit: int = LIMIT):
    from edgekit import data
    from edgekit.models import load_model

    monkeypatch.setenv("EDGEKIT_CACHE", str(cache))
    spec = load_model("kws")
    return spec, data.prepare(spec, seed=0, limit=limit)


@pytest.fixture(scope="session")
def kws_small_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("kws-cache")
    mp = pytest.MonkeyPatch()
    try:
        prepare_small(cache, mp)
    finally:
        mp.undo()
    return cache


@pytest.fixture
def kws_small(kws_small_cache, monkeypatch):
    from edgekit import data
    from edgekit.models import load_model

    monkeypatch.setenv("EDGEKIT_CACHE", str(kws_small_cache))
    spec = load_model("kws")
    return spec, data.load_dataset(spec)
