"""`edgekit eval --captures DIR`: per-cohort accuracy of what a fleet's devices produced
(docs/ARCHITECTURE.md, skew; the captures contract is edgekit.skew.captures).

The captures run through the host skew (edgekit.skew.host: the reference tensors recomputed
from the captured raw inputs, the float model and the int8 model on LiteRT's reference
kernels on both, and the device's own outputs where the manifest has them), which writes the
`skew_entry_point` section. When every row is labelled and carries the device's output, the
captures are an evaluation of the device end to end, and the `eval` section is written from
per-sample records in the harness's shape:

    float        the float model on the reference tensor
    int8_host    the int8 model (LiteRT reference kernels) on the reference tensor
    device_e2e   the device's own output (its preprocessing and its numerics)
    device_features  unavailable: captures hold no device run on the reference tensor

so report.html, junit.xml and `edgekit report` read it as any eval. Each cohort's drop is
split as the host skew measures it: quantization (float -> int8_host), preprocessing
(int8_host -> int8 on the device's tensor) and device numerics, shown as the kernel stage
(int8 on the device's tensor -> the device's output). Without labels (a drop is then a flip
rate against the reference path, not accuracy) or without device outputs (nothing here ran
on a device) no eval section is written, and `EvalCaptures.eval_note` says why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from edgekit import reportstore
from edgekit.errors import UserError
from edgekit.skew.host import EntryPointSkew, Progress, skew_entry_point

# host skew comparison -> the eval section's stage (edgekit.harness.summary.STAGES)
_STAGE_OF = {"quantization": "quantization", "device_numerics": "kernels", "preprocessing_int8": "preprocessing"}
_DESCRIPTIONS = {
    "float": "float reference (Keras) on the reference features recomputed from the captured raw input",
    "int8_host": "int8 host reference (LiteRT reference kernels) on the reference features",
    "device_e2e": "device end to end: the captured device output (its preprocessing and its numerics)",
}
NO_DEVICE_RUN = "unavailable: captures hold no device run on the reference features"


@dataclass
class EvalCaptures:
    captures: EntryPointSkew            # the host skew of the captures (section skew_entry_point)
    device_path: str                    # "device" (the device's outputs) or "int8_device_pre"
    stage: str                          # the host comparison against float: end_to_end or captured_int8
    gates: list[dict]
    eval_written: bool
    eval_note: str                      # what was written, or why no eval section was
    report_json: Path
    html: Optional[Path]
    rows: list[dict] = field(default_factory=list)  # per cohort: accuracy of device_path, change vs float


def _records(res: EntryPointSkew) -> list[dict]:
    return [{"id": r["id"], "label": int(r["label"]), "cohort": r["cohort"],
             "paths": {"float": r["paths"]["float"], "int8_host": r["paths"]["int8_host"],
                       "device_features": {"status": "unavailable", "reason": NO_DEVICE_RUN},
                       "device_e2e": r["paths"]["device"]}} for r in res.records]


def _stage_row(d: Optional[dict]) -> Optional[dict]:
    if not d:
        return None
    return {"difference": d["difference"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "p_value": d["p_value"], "n": d["n"], "significant": d["significant"]}


def _eval_section(spec, target, res: EntryPointSkew, folder: str, min_accuracy, max_cohort_drop) -> dict:
    from edgekit.harness.summary import summarize
    from edgekit.report.gates import gate_rows

    fields = list(dict.fromkeys(c["field"] for c in res.cohorts if c["field"] != "all"))
    sec = summarize(_records(res), target=target, model_name=spec.name, labels=spec.labels, cohort_fields=fields,
                    max_cohort_drop=max_cohort_drop,
                    device_info={"spec": f"captures:{folder}", "source": "captures",
                                 "entry_point": res.entry_point})
    for p, text in _DESCRIPTIONS.items():
        sec["paths"][p]["description"] = text
    by_key = {(c["field"], c["value"]): c for c in res.cohorts}
    sec["attribution"] = [{"field": f, "value": v, **{stage: _stage_row(c.get(name)) for name, stage in _STAGE_OF.items()}}
                          for (f, v), c in by_key.items()]
    sec["attribution_how"] = ("captures: quantization float -> int8 host; preprocessing int8 host -> int8 on the "
                              "device's tensor; kernels (device numerics) int8 on the device's tensor -> the device's "
                              "output (edgekit.skew.host)")
    for f in sec["flagged"]:
        stages = [(not d["significant"], d["difference"], s) for s, d in
                  ((s, (by_key.get((f["field"], f["value"])) or {}).get(n)) for n, s in _STAGE_OF.items())
                  if d and d["difference"] < 0]
        f["stage"] = min(stages)[2] if stages else "unexplained"
    sec["captures"] = folder
    sec["firmware_variant"] = None
    sec["limit"] = None
    sec["gates"] = gate_rows(sec, min_accuracy)
    return sec


def _host_gates(res: EntryPointSkew, device: str, stage: str, min_accuracy, max_cohort_drop) -> list[dict]:
    """The gates of captures without an eval section: on the host skew's comparisons."""
    gates = []
    for c in res.cohorts:
        d = c.get(stage)
        if c["accuracy"].get(device) and d:
            bad = d["significant"] and -d["difference"] > max_cohort_drop
            gates.append({"gate": "max_cohort_drop", "subject": f"{c['field']}={c['value']}",
                          "value": round(-d["difference"], 4) + 0.0, "limit": max_cohort_drop, "passed": not bad,
                          "detail": f"captures {device} vs float on the reference, p={d['p_value']:.3g}"})
    if min_accuracy is not None:
        overall = res.accuracy.get(device)
        gates.append({"gate": "min_accuracy", "subject": f"{device} overall",
                      "value": None if overall is None else round(overall, 4),
                      "limit": min_accuracy, "passed": overall is not None and overall >= min_accuracy,
                      "detail": f"{res.measure} on {res.samples} captures"})
    return gates


def evaluate_captures(spec, target, folder: str, skip_bad: bool = False, min_accuracy: Optional[float] = None,
                      max_cohort_drop: float = 0.02, progress: Optional[Progress] = None) -> EvalCaptures:
    """See the module docstring. Gates are returned, not enforced (edgekit.report.gates.enforce)."""
    from edgekit.report import write_reports

    if min_accuracy is not None and not 0 <= min_accuracy <= 1:
        raise UserError(f"--min-accuracy {min_accuracy}: must be a fraction between 0 and 1, e.g. 0.85")
    t0 = time.perf_counter()
    res = skew_entry_point(spec, target, "captures", folder, skip_bad=skip_bad, max_cohort_drop=max_cohort_drop,
                           progress=progress)
    with_device = bool(res.records) and all("device" in r["paths"] for r in res.records)
    device = "device" if "device" in res.accuracy else "int8_device_pre"
    stage = "end_to_end" if device == "device" else "captured_int8"
    rows = [{"cohort": f"{c['field']}={c['value']}", "accuracy": c["accuracy"][device], "change": c.get(stage)}
            for c in res.cohorts if c["accuracy"].get(device)]
    html = res.html
    if res.measure == "accuracy" and with_device:
        sec = _eval_section(spec, target, res, str(folder), min_accuracy, max_cohort_drop)
        reportstore.write_section(res.directory, "eval", sec)
        reportstore.write_section(res.directory, "eval_run", {"source": "captures", "captures": str(folder),
                                                              "samples": res.samples,
                                                              "wall_s": time.perf_counter() - t0})
        html = write_reports(res.directory).html
        return EvalCaptures(res, device, stage, sec["gates"], True,
                            f"wrote section 'eval' (device end to end from the captured outputs) and "
                            f"'skew_entry_point' of {res.report_json}", res.report_json, html, rows)
    why = ("the captures have no labels, so the figures are agreement with the reference path (a flip rate), "
           "not accuracy" if res.measure != "accuracy" else
           "not every row has the device's output (an `output` or `prediction` column), so nothing here ran "
           "end to end on a device; the figures are the int8 model on the captured tensors")
    return EvalCaptures(res, device, stage, _host_gates(res, device, stage, min_accuracy, max_cohort_drop), False,
                        f"no eval section: {why}; wrote section 'skew_entry_point' of {res.report_json}",
                        res.report_json, html, rows)
