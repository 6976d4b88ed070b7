"""Synthetic per-sample records (deterministic) for report and plugin tests: a KWS-like
label set and cohorts, with one cohort ("mic=cheap") whose device path loses accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit import reportstore
from edgekit.harness.summary import MemoryFigures, summarize
from edgekit.report.gates import gate_rows
from edgekit.targets import load_target

LABELS = ["_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
FIELDS = ["mic", "snr_db", "accent"]


def records(n=600, seed=0, bad_mic="cheap"):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = int(rng.integers(len(LABELS)))
        cohort = {"mic": ["studio", "phone", "cheap"][i % 3], "snr_db": float([0, 10, 20][(i // 3) % 3]),
                  "accent": ["us", "uk", "in", "au"][i % 4]}
        f_ok = rng.random() < 0.92
        pred_f = label if f_ok else int((label + 1) % len(LABELS))
        q_ok = f_ok and rng.random() > 0.01
        pred_q = label if q_ok else int((label + 2) % len(LABELS))
        d_bad = cohort["mic"] == bad_mic and rng.random() < 0.25
        pred_d = int((label + 3) % len(LABELS)) if d_bad else pred_q
        q = [-100] * len(LABELS)
        q[pred_q] = 90
        qd = list(q)
        if d_bad:
            qd = [-100] * len(LABELS)
            qd[pred_d] = 90
        count = int(900_000 + rng.integers(0, 20_000))
        out.append({"id": f"s{i:05d}", "label": label, "cohort": cohort, "paths": {
            "float": {"status": "ok", "pred": pred_f, "scores": []},
            "int8_host": {"status": "ok", "pred": pred_q, "q": q},
            "device_features": {"status": "ok", "pred": pred_d, "q": qd, "model_count": count,
                                "frontend_count": 0, "unit": "instructions (emulated)", "stack_high_water": 900},
            "device_e2e": {"status": "unavailable", "reason": "firmware has no on-device frontend (issue 7)"},
        }})
    return out


def write_report_dir(directory: Path, n=600, min_accuracy=None, **kw) -> dict:
    target = load_target("cortex-m4")
    section = summarize(records(n, **kw), target=target, model_name="kws", labels=LABELS, cohort_fields=FIELDS,
                        combos=[["mic", "snr_db"]], memory=MemoryFigures(120_000, 60_000),
                        device_info={"spec": "qemu", "firmware": "synthetic"})
    section["gates"] = gate_rows(section, min_accuracy)
    reportstore.write_section(directory, "eval", section)
    return section
