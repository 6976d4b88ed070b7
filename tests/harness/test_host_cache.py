"""The host reference cache (harness/host_cache.py): a rerun reads the host paths back, equal to
computing them; a changed input, model or weights is computed again; a damaged file is a miss.
The int8 path runs for real (LiteRT's reference kernels on the tiny KWS-shaped model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit import interpreters
from edgekit.harness import core
from edgekit.harness.host_cache import HostReferenceCache, host_reference_arrays

TINY = Path(__file__).resolve().parents[1] / "build" / "data" / "tiny_kws_int8.tflite"
KEY = {"model": "tiny", "tflite_sha256": "t1", "weights_sha256": "w1", "data_hash": "d1"}


class CountingScorer:
    """A float model: softmax of a fixed projection, counting the samples it scores."""

    def __init__(self):
        self.scored = 0
        self.w = np.random.default_rng(1).normal(size=(490, 12))

    def __call__(self, X):
        self.scored += len(X)
        z = X.reshape(len(X), -1) @ self.w
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def inputs(n, seed=0):
    X = np.random.default_rng(seed).normal(0, 3, (n, 49, 10, 1)).astype(np.float32)
    in_q, _ = interpreters.io_quant(TINY)
    return [f"s{i}" for i in range(n)], X, in_q.quantize(X)


def test_a_rerun_reads_the_cache_and_equals_computing(tmp_path):
    ids, X, xq = inputs(6)
    scorer = CountingScorer()
    plain = host_reference_arrays(ids, X, xq, scorer, TINY)           # no cache
    first = HostReferenceCache(tmp_path, KEY)
    got1 = host_reference_arrays(ids, X, xq, scorer, TINY, first)
    assert (first.computed, first.reused, scorer.scored) == (6, 0, 12)
    again = HostReferenceCache(tmp_path, KEY)
    got2 = host_reference_arrays(ids[2:] + ids[:2], X[[2, 3, 4, 5, 0, 1]], xq[[2, 3, 4, 5, 0, 1]], scorer, TINY, again)
    assert (again.computed, again.reused, scorer.scored) == (0, 6, 12)
    for a, b, c in zip(plain, got1, got2):
        assert np.array_equal(a, b) and a.dtype == b.dtype == c.dtype
        assert np.array_equal(a[[2, 3, 4, 5, 0, 1]], c)
    # records built from the cache are those built without it
    quant = core.OutputQuant(0.00390625, -128)
    samples = [core.EvalSample(i, 0, {}) for i in ids]
    assert core.host_parts(samples, X, xq, scorer, TINY, quant) == \
        core.host_parts(samples, X, xq, scorer, TINY, quant, HostReferenceCache(tmp_path, KEY))


def test_changed_input_or_key_is_computed_again(tmp_path):
    ids, X, xq = inputs(4)
    scorer = CountingScorer()
    host_reference_arrays(ids, X, xq, scorer, TINY, HostReferenceCache(tmp_path, KEY))
    X2, xq2 = X.copy(), xq.copy()
    X2[1] += 1.0
    xq2[1] = np.clip(xq2[1].astype(np.int16) + 3, -128, 127).astype(np.int8)
    c = HostReferenceCache(tmp_path, KEY)
    fs, iq = host_reference_arrays(ids, X2, xq2, scorer, TINY, c)
    assert (c.computed, c.reused) == (1, 3)
    assert np.array_equal(iq[1], interpreters.run_litert_ref(TINY, xq2[1:2]).reshape(-1))
    other = HostReferenceCache(tmp_path, {**KEY, "weights_sha256": "w2"})
    host_reference_arrays(ids, X, xq, scorer, TINY, other)
    assert (other.computed, other.reused) == (4, 0) and other.path != c.path


def test_a_damaged_file_is_a_miss(tmp_path):
    ids, X, xq = inputs(3)
    scorer = CountingScorer()
    c = HostReferenceCache(tmp_path, KEY)
    want = host_reference_arrays(ids, X, xq, scorer, TINY, c)
    for damage in (b"", b"not an npz", c.path.read_bytes()[:100]):
        c.path.write_bytes(damage)
        d = HostReferenceCache(tmp_path, KEY)
        got = host_reference_arrays(ids, X, xq, scorer, TINY, d)
        assert (d.computed, d.reused) == (3, 0)
        assert all(np.array_equal(a, b) for a, b in zip(want, got))
