"""One call that answers "does this firmware's frontend see what training saw?" on a
prepared dataset: parity per cohort for each variant, and (given an int8 model) the
accuracy each variant costs per cohort. Used by `python -m edgekit.frontends` and meant for
`edgekit skew` / the report; writes the report section "frontend"."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence


from edgekit.errors import UserError
from edgekit.frontends.accuracy import VariantAccuracy, variant_accuracy
from edgekit.frontends.codegen import InputQuant
from edgekit.frontends.parity import ParityResult, parity
from edgekit.frontends.variants import load_variants


@dataclass
class FrontendCheck:
    model: str
    split: str
    n_samples: int
    input_scale: float
    input_zero_point: int
    input_quant_from: str
    parity: dict[str, ParityResult] = field(default_factory=dict)
    accuracy: dict[str, VariantAccuracy] = field(default_factory=dict)


def balanced_records(records, cohort_fields: Sequence[str], per_cell: Optional[int]):
    """Up to per_cell records of each combination of cohort fields, in a stable order."""
    cells = defaultdict(list)
    for r in records:
        cells[tuple(str(r.cohort.get(f)) for f in cohort_fields)].append(r)
    return [r for key in sorted(cells) for r in (cells[key] if per_cell is None else cells[key][:per_cell])]


def check_frontends(model_spec, variants: Optional[Sequence[str]] = None, split: str = "test",
                    per_cell: Optional[int] = 30, cohort_fields: Optional[Sequence[str]] = None,
                    tflite: Optional[Path] = None, quant: Optional[InputQuant] = None,
                    progress=None) -> FrontendCheck:
    from edgekit.data import load_dataset, load_raw
    from edgekit.frontends import input_quant_of

    known = load_variants(model_spec)
    names = list(variants) if variants else list(known)
    for n in names:
        if n not in known:
            raise UserError(f"--variant {n}: unknown for model {model_spec.name}; known: {', '.join(known)}")
    if tflite is not None:
        q, q_from = input_quant_of(tflite), f"input tensor of {tflite}"
    elif quant is not None:
        q, q_from = quant, "given"
    else:
        raise UserError("input quantization: give the int8 model (--tflite, from `edgekit convert`) "
                        "or an explicit scale and zero point")
    ds = load_dataset(model_spec)
    fields = list(cohort_fields) if cohort_fields is not None else [
        f for f in model_spec.cohort_fields if isinstance(next((r.cohort.get(f) for r in ds.records), None), str)]
    recs = balanced_records([r for r in ds.records if r.split == split], fields, per_cell)
    if not recs:
        raise UserError(f"dataset of {model_spec.name}: no samples in split {split!r}")
    raws = [load_raw(model_spec, r) for r in recs]
    cohorts = [{f: r.cohort.get(f) for f in fields} for r in recs]
    out = FrontendCheck(model=model_spec.name, split=split, n_samples=len(recs), input_scale=q.scale,
                        input_zero_point=q.zero_point, input_quant_from=q_from)
    for i, name in enumerate(names):
        if progress:
            progress(f"variant {name}", i, len(names))
        out.parity[name] = parity(model_spec, name, raws, q, cohorts=cohorts)
        if tflite is not None:
            out.accuracy[name] = variant_accuracy(model_spec, tflite, name, raws, [r.label for r in recs],
                                                  cohorts, q)
    return out


def report_section(check: FrontendCheck) -> dict:
    """The report's "frontend" section: plain JSON, figures labelled measured."""
    d = asdict(check)
    for name, p in check.parity.items():
        d["parity"][name]["passed"] = p.passed
    return d


def record(stage_dir: Path, check: FrontendCheck) -> Path:
    """Write the check as report section "frontend" of build/<target>/<model>/report.json."""
    from edgekit.reportstore import write_section

    return write_section(Path(stage_dir), "frontend", report_section(check))
