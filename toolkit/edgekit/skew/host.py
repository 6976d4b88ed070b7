"""Skew of a preprocessing entry point on the host: the implementation's model-input tensors
against the reference tensors recomputed from the same raw inputs with the model's spec
(edgekit.preprocess), per cohort (docs/ARCHITECTURE.md, skew).

Per sample, the paired 2x2 of model x preprocessing, plus the device's own output where given:

    float             float model, reference tensor
    float_device_pre  float model, the implementation's tensor
    int8_host         int8 model on LiteRT's reference kernels, reference tensor quantized
    int8_device_pre   int8 model on LiteRT's reference kernels, the implementation's tensor
    device            the device's own output scores or prediction (captures), which holds
                      the device's numerics (kernels, NPU) on its own tensor

Per cohort, each a paired difference with a 95% interval and McNemar's p (edgekit.stats):
the preprocessing effect in int8 (int8_host -> int8_device_pre, the stage the fleet ships),
in float (float -> float_device_pre), their difference (the interaction with quantization:
a per-sample paired mean with a normal 95% interval), device numerics (int8_device_pre ->
device); parity in int8 steps; the share of inputs the implementation puts outside the
int8 input range (saturated by input quantization) per channel or coefficient, beside the
reference's; a diagnosis of the difference (edgekit.skew.diagnosis); and the smallest drop
the cohort's sample size could have detected (estimated).

Without true labels, accuracy is replaced by agreement with the reference path of the same
model: a path's "accuracy" is the share of samples whose prediction equals the reference
prediction, so a drop is the flip rate; the report says so ("measure": "agreement with the reference").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from edgekit import reportstore, resources, stats
from edgekit.errors import UserError
from edgekit.report.entry_point import device_clip_share
from edgekit.skew.entrypoints import EntryPointContext, PreprocessingEntryPoint, RawSample

Progress = Callable[[str, int, int], None]

SECTION = "skew_entry_point"
# Power and level of the detectable-drop estimate: a paired test at alpha 0.05 with 80% power.
Z_ALPHA, Z_POWER = 1.959963984540054, 0.8416212335729143
COMPARISONS = {  # name -> (reference path, path): the stages this report separates
    "preprocessing_int8": ("int8_host", "int8_device_pre"),
    "preprocessing_float": ("float", "float_device_pre"),
    "quantization": ("float", "int8_host"),
    "device_numerics": ("int8_device_pre", "device"),
    "end_to_end": ("float", "device"),
    "captured_int8": ("float", "int8_device_pre"),  # eval --captures without device outputs
}


@dataclass
class EntryPointSkew:
    target: str
    model: str
    entry_point: dict                   # name, version, on_device
    directory: Path
    report_json: Path
    samples: int                        # samples with a tensor, compared
    failures: list[dict]                # samples the implementation failed on, with the reason
    skipped: list[dict]                 # bad rows left out (captures with --skip-bad)
    measure: str                        # "accuracy" (labels) or "agreement with the reference" (none)
    accuracy: dict                      # path -> overall accuracy (or agreement)
    cohorts: list[dict]                 # per cohort: stages, interaction, parity, saturation, diagnosis
    flagged: list[dict]                 # cohorts whose preprocessing costs accuracy (int8, the shipped model)
    differs_not_significant: list[dict]  # parity differs, accuracy not affected at this sample size
    gates: list[dict]                   # edgekit.report.gates rows, one per cohort
    wall_s: float
    max_cohort_drop: float = 0.02
    html: Optional[Path] = None         # report.html, rewritten with the section
    # per sample: id, label, cohort and each path's prediction (eval --captures summarizes them)
    records: list[dict] = field(default_factory=list, repr=False)

    @property
    def preprocessing_skew(self) -> list[dict]:
        return self.flagged


def input_quant(tflite: Path):
    from edgekit import interpreters

    return interpreters.io_quant(tflite)[0]


def _part(pred: int) -> dict:
    return {"status": "ok", "pred": int(pred)}


def _paired_mean(values: np.ndarray) -> dict:
    """Mean of per-sample paired differences with a normal 95% interval and two-sided p."""
    n = int(values.size)
    if n == 0:
        return {"n": 0, "difference": 0.0, "ci_low": 0.0, "ci_high": 0.0, "p_value": 1.0, "significant": False}
    m = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else 0.0
    half = Z_ALPHA * sd / math.sqrt(n)
    p = 1.0 if sd == 0 else math.erfc(abs(m) / (sd / math.sqrt(n)) / math.sqrt(2))
    return {"n": n, "difference": m, "ci_low": m - half, "ci_high": m + half, "p_value": p,
            "significant": p < 0.05}


def detectable_drop(n: int, discordant_share: float) -> float:
    """Smallest accuracy drop a paired test on n samples detects with 80% power at alpha
    0.05 (estimated): 2.8 * sqrt(discordant share / n), where a drop d needs at least d
    discordant pairs, so never below 2.8^2 / n."""
    if n <= 0:
        return 1.0
    k = Z_ALPHA + Z_POWER
    return min(1.0, max(k * math.sqrt(max(discordant_share, 0.0) / n), k * k / n))


def _channel_axis(shape: Sequence[int]) -> int:
    """The axis a per-channel figure runs over: the last of size > 1 (RGB for NHWC images,
    the MFCC coefficient for [frames, coefficients, 1])."""
    for ax in range(len(shape) - 1, -1, -1):
        if shape[ax] > 1:
            return ax
    return len(shape) - 1


def saturation(dev_float: np.ndarray, dev_int8: np.ndarray, ref_float: np.ndarray, quant, from_int8: bool) -> dict:
    """Share of input values outside the int8 input range (they clip at -128 / 127), per
    channel, for the implementation's tensors and the reference's."""
    lo, hi = float(quant.dequantize(np.int8(-128))), float(quant.dequantize(np.int8(127)))
    ax = _channel_axis(ref_float.shape[1:]) + 1
    move = lambda a: np.moveaxis(a, ax, -1).reshape(-1, a.shape[ax])  # noqa: E731
    if from_int8:  # a quantized tensor keeps no value beyond the range: count the ends
        q = move(dev_int8.astype(np.int16))
        dev_hi, dev_lo = (q >= 127).mean(axis=0), (q <= -128).mean(axis=0)
    else:
        f = move(dev_float)
        dev_hi, dev_lo = (f > hi + 0.5 * quant.scale).mean(axis=0), (f < lo - 0.5 * quant.scale).mean(axis=0)
    r = move(ref_float)
    ref_sat = ((r > hi + 0.5 * quant.scale) | (r < lo - 0.5 * quant.scale)).mean(axis=0)
    return {"range": [lo, hi], "axis": "coefficient" if ref_float.shape[-1] == 1 else "channel",
            "device_high": [round(float(v), 4) for v in dev_hi], "device_low": [round(float(v), 4) for v in dev_lo],
            "reference": [round(float(v), 4) for v in ref_sat],
            "how": "measured: share of input values beyond the int8 input range [scale*(-128-zp), scale*(127-zp)]"
                   + (" (int8 tensors: values at -128 or 127)" if from_int8 else "")}


def _comparison_row(c) -> dict:
    return {"n": c.n, "reference": c.accuracy_reference, "path": c.accuracy_path, "difference": c.difference,
            "ci_low": c.diff_ci_low, "ci_high": c.diff_ci_high, "p_value": c.p_value, "test": c.test,
            "significant": c.significant, "discordant": c.b + c.c}


def _compare(records, name: str, fields, threshold: float, labelled: bool) -> dict:
    ref, path = COMPARISONS[name]
    recs = records
    if not labelled:  # agreement with the reference path stands in for accuracy
        recs = [{**r, "label": stats.prediction(r, ref)} for r in records if stats.prediction(r, ref) is not None]
    return {(c.field, c.value): _comparison_row(c) for c in stats.compare_paths(recs, ref, path, fields,
                                                                                  threshold=threshold)}


def run_entry_point(spec, target, ep: PreprocessingEntryPoint, tflite: Path, samples: Sequence[RawSample],
                    max_cohort_drop: float = 0.02, skipped: Sequence[dict] = (), progress: Optional[Progress] = None,
                    cohort_fields: Optional[Sequence[str]] = None, section: Optional[str] = SECTION) -> EntryPointSkew:
    """Skew of `ep` on `samples` (see the module docstring); writes report section `section`
    ("skew_entry_point"; None: none) of build/<target>/<model>/report.json."""
    from edgekit import interpreters, preprocess
    from edgekit.frontends.parity import ParityStats
    from edgekit.harness.core import float_scorer
    from edgekit.skew import diagnosis

    t0 = time.perf_counter()
    say = progress or (lambda *a: None)
    if not samples:
        raise UserError(f"{ep.name}: no samples to compare")
    q = input_quant(tflite)
    if np.dtype(q.dtype) != np.int8:
        raise UserError(f"{tflite}: the model input is {q.dtype}; skew of preprocessing needs an int8 input")
    fields = list(cohort_fields if cohort_fields is not None else spec.cohort_fields)
    labelled = all(s.label is not None for s in samples)

    outs, failures = [], []
    say(f"{ep.name}: model inputs", 0, len(samples))
    for i, s in enumerate(samples):
        o = ep.tensor(s)
        if o.tensor is None:
            failures.append({"id": s.id, "cohort": s.cohort, "reason": o.failure or "no tensor"})
        else:
            outs.append((s, o))
        say(f"{ep.name}: model inputs", i + 1, len(samples))
    ep.close()
    if not outs:
        raise UserError(f"{ep.name} {ep.version}: failed on every sample; the first: "
                        f"{failures[0]['id']}: {failures[0]['reason']}")
    say("reference preprocessing", 0, 1)
    ref_f = preprocess.apply_batch(spec, [s.raw for s, _ in outs]).astype(np.float32)
    ref_q = q.quantize(ref_f)
    from_int8 = [o.tensor.dtype == np.int8 for _, o in outs]
    dev_q = np.stack([o.tensor if i8 else q.quantize(o.tensor) for (_, o), i8 in zip(outs, from_int8)])
    dev_f = np.stack([q.dequantize(o.tensor) if i8 else o.tensor for (_, o), i8 in zip(outs, from_int8)])
    n = len(outs)
    say("float model (reference and implementation tensors)", 0, 1)
    fl = float_scorer(spec.weights_path)(np.concatenate([ref_f, dev_f])).argmax(axis=1)
    say("int8 model on LiteRT reference kernels", 0, 1)
    i8 = interpreters.run_litert_ref(tflite, np.concatenate([ref_q, dev_q])).reshape(2 * n, -1).argmax(axis=1)

    records = []
    for k, (s, o) in enumerate(outs):
        paths = {"float": _part(fl[k]), "float_device_pre": _part(fl[n + k]),
                 "int8_host": _part(i8[k]), "int8_device_pre": _part(i8[n + k])}
        if o.device_scores is not None:
            paths["device"] = _part(int(np.argmax(o.device_scores)))
        elif o.device_prediction is not None:
            paths["device"] = _part(o.device_prediction)
        records.append({"id": s.id, "label": s.label, "cohort": s.cohort, "paths": paths})
    has_device = any("device" in r["paths"] for r in records)

    comps = {name: _compare(records, name, fields, max_cohort_drop, labelled)
             for name in COMPARISONS if has_device or "device" not in COMPARISONS[name]}
    ok = lambda path, ref: np.array([  # noqa: E731
        int(stats.prediction(r, path) == (r["label"] if labelled else stats.prediction(r, ref))) for r in records])
    interaction_d = (ok("int8_device_pre", "int8_host") - ok("int8_host", "int8_host")) - \
                    (ok("float_device_pre", "float") - ok("float", "float"))
    steps = np.abs(dev_q.astype(np.int16) - ref_q.astype(np.int16))

    acc_rows: dict = {}
    for p in PATH_ORDER:
        recs = records if labelled else [{**r, "label": stats.prediction(r, COMPARISONS_REF[p])} for r in records]
        for a in stats.accuracy_by_cohort(recs, p, fields):
            acc_rows.setdefault((a.field, a.value), {})[p] = {"n": a.n, "accuracy": a.accuracy,
                                                               "ci_low": a.ci_low, "ci_high": a.ci_high}
    cohorts, flagged, quiet = [], [], []
    groups = [("all", "all", np.arange(n))]
    for f in fields:
        vals: dict[str, list[int]] = {}
        for k, r in enumerate(records):
            v = stats.cohort_key(r, [f])
            if v is not None:
                vals.setdefault(v, []).append(k)
        groups += [(f, v, np.array(ix)) for v, ix in sorted(vals.items())]
    for fld, val, ix in groups:
        key = (fld, val)
        row = {"field": fld, "value": val, "n": int(ix.size),
               "failures": sum(1 for x in failures if fld == "all" or stats.cohort_key(x, [fld]) == val)}
        row["accuracy"] = acc_rows.get(key, {})
        for name, table in comps.items():
            row[name] = table.get(key)
        row["interaction"] = _paired_mean(interaction_d[ix].astype(np.float64))
        row["parity"] = vars(ParityStats.of([steps[k] for k in ix]))
        row["saturation"] = saturation(dev_f[ix], dev_q[ix], ref_f[ix], q, all(from_int8[k] for k in ix))
        pre = row["preprocessing_int8"] or {}
        row["detectable_drop"] = detectable_drop(row["n"], pre.get("discordant", 0) / max(row["n"], 1))
        row["diagnosis"] = diagnosis.diagnose(spec.preprocessing, ref_f[ix], dev_f[ix]) \
            if row["parity"]["max_abs_diff"] > 1 else None
        cohorts.append(row)
        if pre.get("significant") and -pre["difference"] > max_cohort_drop:
            flagged.append(_flag(row, ep))
        elif row["parity"]["max_abs_diff"] > 1 and row["parity"]["share_differing"] > 0.01:
            quiet.append({"field": fld, "value": val, "n": row["n"],
                          "verdict": "preprocessing differs, accuracy not affected at this sample size",
                          "detectable_drop": row["detectable_drop"],
                          "kind": (row["diagnosis"] or {}).get("kind")})
    _carriers(flagged, records, {(f, v): ix for f, v, ix in groups}, labelled, max_cohort_drop)
    overall = {p: a["accuracy"] for p, a in acc_rows.get(("all", "all"), {}).items()}
    from edgekit.report.gates import skew_gate_rows

    gates = skew_gate_rows({"decomposition": [{"field": c["field"], "value": c["value"],
                                               "preprocessing": c["preprocessing_int8"],
                                               "firmware": [f"{ep.name}:{ep.version}"]} for c in cohorts],
                            "preprocessing_skew": flagged, "max_cohort_drop": max_cohort_drop})
    directory = resources.stage_dir(target.name, spec.name)
    out = {"schema": "edgekit.skew.entry_point", "version": 1, "target": target.name, "model": spec.name,
           "entry_point": ep.describe(), "samples": n, "failures": failures, "skipped": list(skipped),
           "measure": "accuracy" if labelled else "agreement with the reference",
           "measure_how": ("measured: accuracy against the true labels" if labelled else
                           "measured: no labels, so agreement with the reference path of the same model stands in "
                           "for accuracy; a drop is the flip rate"),
           "accuracy": overall, "cohorts": cohorts, "preprocessing_skew": flagged,
           "differs_not_significant": quiet, "max_cohort_drop": max_cohort_drop, "gates": gates,
           "how": ("measured: paired differences per cohort on the same samples, 95% interval (paired Wald) and "
                   "McNemar's p; interaction = preprocessing effect in int8 minus in float, per-sample paired "
                   "mean with a normal 95% interval; detectable drop estimated for 80% power at alpha 0.05")}
    report_json, html = directory / "report.json", None
    if section:
        from edgekit.report import write_reports

        report_json = reportstore.write_section(directory, section, out)
        html = write_reports(directory).html
    return EntryPointSkew(target=target.name, model=spec.name, entry_point=ep.describe(), directory=directory,
                          report_json=report_json, samples=n, failures=failures, skipped=list(skipped),
                          measure=out["measure"], accuracy=overall, cohorts=cohorts, flagged=flagged,
                          differs_not_significant=quiet, gates=gates, wall_s=time.perf_counter() - t0,
                          max_cohort_drop=max_cohort_drop, html=html, records=records)


PATH_ORDER = ("float", "float_device_pre", "int8_host", "int8_device_pre", "device")
COMPARISONS_REF = {"float": "float", "float_device_pre": "float", "int8_host": "int8_host",
                   "int8_device_pre": "int8_host", "device": "int8_host"}


def _carriers(flagged: list[dict], records: list[dict], index: dict, labelled: bool, threshold: float) -> None:
    """Which flagged cohort carries each drop: a cohort of another field (noise=babble) whose
    drop is no longer flagged once the samples of a larger flagged cohort (mic=telephone)
    are left out is `carried_by` that cohort; the others carry their own."""
    order = sorted((f for f in flagged if f["field"] != "all"), key=lambda f: f["difference"])
    carriers: list[dict] = []
    for f in order:
        mine = set(index[(f["field"], f["value"])].tolist())
        f["carried_by"] = f"{f['field']}={f['value']}"
        for c in carriers:
            rest = mine - set(index[(c["field"], c["value"])].tolist())
            left = _compare([records[k] for k in sorted(rest)], "preprocessing_int8", [], threshold, labelled)
            row = left.get(("all", "all"))
            if not row or not (row["significant"] and -row["difference"] > threshold):
                f["carried_by"] = f"{c['field']}={c['value']}"
                break
        if f["carried_by"] == f"{f['field']}={f['value']}":
            carriers.append(f)
    for f in flagged:
        if f["field"] == "all":
            f["carried_by"] = ", ".join(f"{c['field']}={c['value']}" for c in carriers) or "all"


def _flag(row: dict, ep) -> dict:
    pre, fl, inter = row["preprocessing_int8"], row.get("preprocessing_float") or {}, row["interaction"]
    sat = row["saturation"]
    worst, share = device_clip_share(sat)
    return {"field": row["field"], "value": row["value"], "stage": "preprocessing", "n": pre["n"],
            "firmware": [f"{ep.name}:{ep.version}"],
            "difference": pre["difference"], "ci_low": pre["ci_low"], "ci_high": pre["ci_high"],
            "p_value": pre["p_value"], "float_difference": fl.get("difference"),
            "interaction": inter["difference"], "saturated_share": share, "saturated_axis": f"{sat['axis']} {worst}",
            "kind": (row["diagnosis"] or {}).get("kind"),
            "summary": (f"{100 * pre['difference']:+.1f} points in int8, {100 * fl.get('difference', 0.0):+.1f} in float"
                        + (f": {100 * share:.0f}% of {sat['axis']}-{worst} inputs clip at "
                           f"{'127' if sat['device_high'][worst] >= sat['device_low'][worst] else '-128'}"
                           if share >= 0.01 else ""))}


def context_for(spec, tflite: Path) -> EntryPointContext:
    return EntryPointContext(spec, input_quant(tflite))


def dataset_samples(spec, limit: Optional[int] = None, fields: Optional[Sequence[str]] = None) -> list[RawSample]:
    """Test-split samples with their raw inputs, at most `limit` per value of the model's
    first cohort field (or `fields`), as `edgekit skew --limit` selects them."""
    from edgekit import data
    from edgekit.skew.firmware import select_samples

    recs = select_samples(data.load_dataset(spec).split("test"), list(fields or spec.cohort_fields[:1]), limit)
    if not recs:
        raise UserError(f"dataset of {spec.name}: no test samples; run `edgekit data prepare --model {spec.name}`")
    return [RawSample(r.id, data.load_raw(spec, r), dict(r.cohort), int(r.label)) for r in recs]




def skew_entry_point(spec, target, kind: str, option, limit: Optional[int] = None, skip_bad: bool = False,
                     max_cohort_drop: float = 0.02, progress: Optional[Progress] = None) -> EntryPointSkew:
    """`edgekit skew --captures DIR` (kind "captures", option (DIR, skip_bad)) or
    `--frontend-python FILE.py:FN` (kind "python"): the entry point's tensors against the
    reference, per cohort, with the target's int8 model on LiteRT's reference kernels; no
    firmware is built, so any target with an int8 model runs (Cortex-M, snapdragon-htp)."""
    from edgekit.convert import int8_model
    from edgekit.skew.entrypoints import entry_point

    if limit is not None and limit <= 0:
        raise UserError(f"--limit {limit}: must be a positive number of samples per cohort")
    if not 0 <= max_cohort_drop <= 1:
        raise UserError(f"--max-cohort-drop {max_cohort_drop}: must be a fraction between 0 and 1, e.g. 0.02")
    # The entry point (its file, its captures, every row) is checked before the int8 model is
    # looked for or converted, so bad input costs nothing; the quantization comes after.
    ctx = EntryPointContext(spec, None)
    ep = entry_point(kind, ctx, option, skip_bad=skip_bad)
    samples = list(ep.samples(())) if ep.provides_samples else dataset_samples(spec, limit)
    tflite = int8_model(spec, target, progress=progress)
    ep.context = context_for(spec, tflite)
    return run_entry_point(spec, target, ep, tflite, samples, max_cohort_drop=max_cohort_drop, skipped=ep.skipped,
                           progress=progress, cohort_fields=ep.cohort_fields)
