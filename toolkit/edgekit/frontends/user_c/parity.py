"""Parity of a user C frontend with the reference preprocessing, on every sample, with the
samples it failed on kept apart (reason and detail) instead of ending the run
(docs/ARCHITECTURE.md, frontends)."""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Optional, Sequence

import numpy as np

from edgekit.frontends.codegen import InputQuant
from edgekit.frontends.parity import ParityResult, ParityStats, reference_int8
from edgekit.frontends.user_c.host import FrontendSampleError, HostUserFrontend


def user_parity(host: HostUserFrontend, label: str, raws: Sequence[np.ndarray], quant: InputQuant,
                cohorts: Optional[Sequence[Mapping[str, object]]] = None,
                ids: Optional[Sequence[str]] = None) -> tuple[ParityResult, list[dict]]:
    """(ParityResult over the samples the frontend converted, failures: one dict per sample
    it failed on: id, reason, detail)."""
    pre = host.pre_spec
    diffs: list[np.ndarray] = []
    by_cohort: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    failures: list[dict] = []
    for i, raw in enumerate(raws):
        try:
            dev = host.run(raw).astype(np.int16)
        except FrontendSampleError as exc:
            failures.append({"id": ids[i] if ids else i, "reason": exc.reason, "detail": exc.detail[:300]})
            continue
        d = np.abs(reference_int8(pre, raw, quant).astype(np.int16) - dev).astype(np.uint8)
        diffs.append(d)
        for k, v in (cohorts[i] if cohorts is not None else {}).items():
            by_cohort[k][str(v)].append(d)
    per = {k: {v: ParityStats.of(ds) for v, ds in sorted(vals.items())} for k, vals in by_cohort.items()}
    res = ParityResult(kind=pre.kind, variant=label, spec_hash=host.spec_hash, input_scale=float(quant.scale),
                       input_zero_point=int(quant.zero_point), overall=ParityStats.of(diffs), per_cohort=per,
                       how="measured: host build of the user's C frontend (worker subprocess, guard bytes, time "
                           "limit) vs the Python reference on the same raw inputs")
    return res, failures
