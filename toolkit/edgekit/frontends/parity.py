"""Parity: does the device frontend see what training saw?

Both sides start from the same raw input: the Python reference (edgekit.preprocess.apply,
then the int8 input quantization) and the C frontend (host build of the firmware sources).
Differences are counted in quantized units (int8 steps) of the model input.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from edgekit.frontends.codegen import InputQuant
from edgekit.frontends.host import HostFrontend, build_host
from edgekit.frontends.variants import FrontendVariant, get_variant

WITHIN_ONE_STEP_REQUIRED = 0.99


@dataclass
class ParityStats:
    n_samples: int
    n_elements: int
    max_abs_diff: int             # int8 steps
    mean_abs_diff: float
    share_differing: float        # elements with any difference
    share_within_one_step: float  # elements with |diff| <= 1

    @classmethod
    def of(cls, diffs: Sequence[np.ndarray]) -> "ParityStats":
        if not diffs:
            return cls(0, 0, 0, 0.0, 0.0, 1.0)
        d = np.concatenate([np.ravel(x) for x in diffs])
        return cls(n_samples=len(diffs), n_elements=int(d.size), max_abs_diff=int(d.max()),
                   mean_abs_diff=float(d.mean()), share_differing=float((d > 0).mean()),
                   share_within_one_step=float((d <= 1).mean()))


@dataclass
class ParityResult:
    kind: str
    variant: str
    spec_hash: str
    input_scale: float
    input_zero_point: int
    overall: ParityStats
    per_cohort: dict[str, dict[str, ParityStats]] = field(default_factory=dict)
    how: str = "measured: host build of the C frontend vs the Python reference on the same raw inputs"

    @property
    def passed(self) -> bool:
        """The Done-when criterion: within one quantization step on >= 99% of elements."""
        return self.overall.share_within_one_step >= WITHIN_ONE_STEP_REQUIRED


def reference_int8(pre_spec, raw: np.ndarray, quant: InputQuant) -> np.ndarray:
    """The reference model input: Python preprocessing, then int8 quantization."""
    from edgekit.preprocess import apply
    from edgekit.preprocess.image import quantize_input

    return quantize_input(apply(pre_spec, raw), quant.scale, quant.zero_point)


def _resolve(spec, variant: Union[str, FrontendVariant, None]) -> FrontendVariant:
    if variant is None or isinstance(variant, str):
        if not hasattr(spec, "preprocessing"):
            from edgekit.frontends.variants import AudioVariant, ImageVariant
            if variant not in (None, "default"):
                raise ValueError("a named variant needs the ModelSpec, not a bare preprocessing spec")
            return AudioVariant() if spec.kind == "mfcc" else ImageVariant()
        return get_variant(spec, variant)
    return variant


def parity(spec, variant: Union[str, FrontendVariant, None], raws: Iterable[np.ndarray], quant: InputQuant,
           cohorts: Optional[Sequence[Mapping[str, object]]] = None,
           frontend: Optional[HostFrontend] = None) -> ParityResult:
    """C frontend (variant) vs the reference spec on the same raw inputs.

    spec: ModelSpec (needed for named variants) or a bare preprocessing spec.
    cohorts: one mapping of cohort fields per raw input, for the per-cohort breakdown.
    """
    pre = getattr(spec, "preprocessing", spec)
    var = _resolve(spec, variant)
    fe = frontend or build_host(pre, var, quant)
    diffs: list[np.ndarray] = []
    by_cohort: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    for i, raw in enumerate(raws):
        ref = reference_int8(pre, raw, quant).astype(np.int16)
        dev = fe.run(raw).astype(np.int16)
        d = np.abs(ref - dev).astype(np.uint8)
        diffs.append(d)
        if cohorts is not None:
            for k, v in cohorts[i].items():
                by_cohort[k][str(v)].append(d)
    per = {k: {v: ParityStats.of(ds) for v, ds in sorted(vals.items())} for k, vals in by_cohort.items()}
    return ParityResult(kind=pre.kind, variant=var.name, spec_hash=fe.spec_hash,
                        input_scale=float(quant.scale), input_zero_point=int(quant.zero_point),
                        overall=ParityStats.of(diffs), per_cohort=per)
