"""What kind of difference a flagged cohort's firmware frontend makes (docs/ARCHITECTURE.md,
skew): for each preprocessing-skew cohort carried by one firmware, the reference tensors
and that firmware's frontend tensors on the cohort's samples (the host build of the same C
sources: a generated variant, or the user's C frontend through its worker) go through
edgekit.skew.diagnosis, and the finding joins the flag as "diagnosis"."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from edgekit import stats

FIRMWARE_FIELD = "firmware"
MAX_SAMPLES = 200   # per flagged cohort: enough for per-channel fits, a few seconds on the host


def _host(spec, quant, variant: str, user_frontends: Mapping):
    if variant in user_frontends:
        from edgekit.frontends.user_c import build_host_frontend

        return build_host_frontend(user_frontends[variant], spec, quant)
    from edgekit.frontends import build_host, get_variant

    return build_host(spec, get_variant(spec, variant), quant)


def diagnose_flagged(spec, quant, flagged: Sequence[dict], records: Sequence, variant_of: Mapping[str, str],
                     user_frontends: Mapping = {}) -> None:
    """Adds "diagnosis" (or None) to each entry of `flagged` (analysis.preprocessing_skew rows)
    whose drop one firmware carries; records: the chosen SampleRecords."""
    from edgekit import data, preprocess
    from edgekit.frontends.user_c import FrontendSampleError
    from edgekit.skew import diagnosis

    hosts: dict = {}
    pairs: dict = {}  # (variant, sample id) -> (reference, frontend) float tensors, or None
    try:
        for f in flagged:
            carried = f.get("carried_by") or f.get("firmware") or []
            if len(carried) != 1:
                continue
            variant = carried[0]
            sel = [r for r in records if variant_of.get(r.id) == variant and (
                f["field"] in ("all", FIRMWARE_FIELD) or stats.cohort_key({"cohort": r.cohort}, [f["field"]]) == f["value"])]
            if variant not in hosts:
                hosts[variant] = _host(spec, quant, variant, user_frontends)
            for r in sel[:MAX_SAMPLES]:
                if (variant, r.id) in pairs:
                    continue
                raw = data.load_raw(spec, r)
                try:
                    q = hosts[variant].run(raw)
                except (FrontendSampleError, ValueError):
                    pairs[(variant, r.id)] = None  # that sample's failure is counted elsewhere
                    continue
                pairs[(variant, r.id)] = (preprocess.apply(spec, raw), (q.astype(np.float32) - np.float32(
                    quant.zero_point)) * np.float32(quant.scale))
            got = [pairs[(variant, r.id)] for r in sel[:MAX_SAMPLES] if pairs[(variant, r.id)] is not None]
            ref, dev = [p[0] for p in got], [p[1] for p in got]
            f["diagnosis"] = diagnosis.diagnose(spec.preprocessing, np.stack(ref), np.stack(dev)) if ref else None
    finally:
        for h in hosts.values():
            close = getattr(h, "close", None)
            if close:
                close()
