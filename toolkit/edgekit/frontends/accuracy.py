"""What a firmware variant costs in accuracy, per cohort, before any device is involved.

Both paths run the same int8 model on LiteRT's reference kernels (host); they differ only
in how the model input was made from the raw sample:

- reference: the Python reference preprocessing + int8 quantization (what training saw);
- variant:   the host build of the variant's C frontend (what that firmware computes).

So the difference between the two accuracies is the preprocessing skew of the variant
alone (no kernel numerics, no quantization change): "measured" on the given samples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from edgekit.frontends.codegen import InputQuant
from edgekit.frontends.host import build_host
from edgekit.frontends.parity import reference_int8
from edgekit.frontends.variants import FrontendVariant, get_variant


@dataclass
class AccuracyCell:
    n: int
    reference_accuracy: float
    variant_accuracy: float
    delta_points: float           # (variant - reference) x 100
    prediction_changed: float     # share of samples whose predicted class differs


@dataclass
class VariantAccuracy:
    model: str
    variant: str
    tflite: str
    overall: AccuracyCell
    per_cohort: dict[str, dict[str, AccuracyCell]] = field(default_factory=dict)
    how: str = ("measured: int8 model on LiteRT reference kernels on the host; reference inputs from the "
                "Python preprocessing, variant inputs from the host build of the C frontend")


def _cell(ref_ok: np.ndarray, var_ok: np.ndarray, changed: np.ndarray) -> AccuracyCell:
    n = int(ref_ok.size)
    ra = float(ref_ok.mean()) if n else 0.0
    va = float(var_ok.mean()) if n else 0.0
    return AccuracyCell(n=n, reference_accuracy=ra, variant_accuracy=va, delta_points=100.0 * (va - ra),
                        prediction_changed=float(changed.mean()) if n else 0.0)


def predict(tflite_path: Path, x_int8: np.ndarray) -> np.ndarray:
    from edgekit.interpreters import run_litert_ref

    return np.asarray(run_litert_ref(Path(tflite_path), x_int8)).reshape(len(x_int8), -1).argmax(axis=1)


def variant_accuracy(model_spec, tflite_path: Path, variant: Union[str, FrontendVariant, None],
                     raws: Sequence[np.ndarray], labels: Sequence[int],
                     cohorts: Optional[Sequence[Mapping[str, object]]] = None,
                     quant: Optional[InputQuant] = None) -> VariantAccuracy:
    from edgekit.frontends import input_quant_of

    var = variant if not (variant is None or isinstance(variant, str)) else get_variant(model_spec, variant)
    q = quant or input_quant_of(Path(tflite_path))
    pre = model_spec.preprocessing
    fe = build_host(model_spec, var, q)
    x_ref = np.stack([reference_int8(pre, r, q) for r in raws])
    x_var = np.stack([fe.run(r) for r in raws])
    y = np.asarray(labels, dtype=np.int64)
    p_ref = predict(tflite_path, x_ref)
    # Identical inputs give identical predictions: only run the samples whose input differs.
    p_var = p_ref.copy()
    diff = np.any((x_ref != x_var).reshape(len(raws), -1), axis=1)
    if diff.any():
        p_var[diff] = predict(tflite_path, x_var[diff])
    ref_ok, var_ok, changed = p_ref == y, p_var == y, p_ref != p_var
    per: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, c in enumerate(cohorts or []):
        for k, v in c.items():
            per[k][str(v)].append(i)
    return VariantAccuracy(
        model=model_spec.name, variant=var.name, tflite=str(tflite_path),
        overall=_cell(ref_ok, var_ok, changed),
        per_cohort={k: {v: _cell(ref_ok[idx], var_ok[idx], changed[idx]) for v, idx in sorted(vals.items())}
                    for k, vals in per.items()})
