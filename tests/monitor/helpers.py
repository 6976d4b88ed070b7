"""Synthetic telemetry for the monitor tests: records with the shape of a small model."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np

CLASSES, FEATURES = 4, 3


class FakeSpec:
    """The parts of a ModelSpec the store and analysis read."""

    name = "toy"
    labels = ["a", "b", "c", "d"]
    cohort_fields = ["mic"]

    class preprocessing:
        output_shape = (5, FEATURES)


def record(device="dev-1", day=0, n=10, cohort=None, **over) -> dict:
    start = datetime(2026, 1, 5, tzinfo=timezone.utc) + timedelta(days=day)
    ch = [n] + [0] * (CLASSES - 1)
    cb = [0] * 15 + [n]
    r = {"schema": 1, "device_id": device, "model": "toy",
         "window_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "window_end": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "cohort": cohort or {"device_model": "dm-a", "firmware": "v1"}, "inferences": n,
         "class_hist": ch, "conf_hist": cb, "feature_mean": [1.0, -2.0, 0.5], "feature_var": [4.0, 1.0, 2.0],
         "labelled": [{"label": 0, "pred": 0}]}
    r.update(over)
    return r


def write_jsonl(path, rows) -> None:
    with open(path, "w") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")


def random_hist(rng, p, n) -> list[int]:
    return rng.multinomial(n, p).tolist()


__all__ = ["CLASSES", "FEATURES", "FakeSpec", "record", "write_jsonl", "random_hist", "np"]
