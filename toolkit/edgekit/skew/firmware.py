"""`edgekit skew` on edgekit's generated firmware frontends: is there training-serving skew on
this firmware, where, and how much? (docs/ARCHITECTURE.md, skew)

Runs only what answers that question, on the test split:

- per sample, the four harness paths (float, int8 host reference, device with host-computed
  features, device end to end from raw input through the firmware's own frontend), through
  the harness loop (edgekit.harness.core: batched QEMU sessions, resumable jsonl records);
- per cohort, the accuracy change split into quantization (float -> int8 host), kernel
  numerics (int8 host -> device features) and preprocessing (device features -> device end
  to end), each a paired difference with a 95% interval and McNemar's p (edgekit.stats via
  the harness summary);
- parity of the firmware frontend against the Python reference on the same raw inputs
  (edgekit.frontends.parity: the host build of the same C sources), in int8 steps;
- flagged cohorts with the stage that explains each, and sample ids where paths disagree.

Device cohorts can run different firmware (a cohort manifest, `sensor-b: fast-resize`):
one firmware is built per variant and each cohort's samples run on their own firmware
(edgekit.harness.fleet), so the records say which firmware produced each prediction (cohort
field "firmware").

    from edgekit.skew import skew, load_cohort_firmware
    res = skew(load_model("mobilenetv2"), load_target("cortex-m7"),
               cohort_firmware=load_cohort_firmware(spec, "sensor-b: fast-resize"), limit=200)
    gate(res)   # CheckFailed (exit 1) when a cohort shows preprocessing skew

Writes build/<target>/<model>/skew/ (per-firmware builds and records, example pictures)
and report section "skew".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from edgekit import reportstore, resources, stats
from edgekit.errors import UserError
from edgekit.report.entry_point import device_clip_share
from edgekit.harness.fleet import (COHORT_RUNS_DIR, DEFAULT_VARIANT, FIRMWARE_FIELD, CohortFirmwareMap,
                                   preprocessing_by_firmware, run_cohort_firmware)
from edgekit.skew import analysis

Progress = Callable[[str, int, int], None]

SECTION = "skew"



@dataclass
class SkewResult:
    target: str
    model: str
    directory: Path
    report_json: Path
    firmware: dict                     # cohort manifest as run: {"field=value": variant, "*": variant}
    samples: int
    resumed: int
    new: int
    accuracy: dict                     # path -> overall accuracy (None when it did not run)
    decomposition: list[dict]          # per cohort: accuracy per path + the three stages
    parity: list[dict]                 # per firmware variant and cohort: frontend vs reference
    flagged: list[dict]                # harness flags (float vs device) with the responsible stage
    preprocessing_skew: list[dict]     # cohorts whose preprocessing step alone drops significantly
    examples: dict                     # stage -> sample ids where that stage's two paths disagree
    example_pictures: list[Path]
    builds: dict                       # variant -> firmware facts
    wall_s: float
    html: Optional[Path] = None        # report.html with the skew section
    max_cohort_drop: float = 0.02      # the threshold the flags used
    gates: list = field(default_factory=list)  # edgekit.report.gates.skew_gate_rows, one per cohort



def select_samples(records: Sequence, field_names: Sequence[str], limit: Optional[int]) -> list:
    """Up to `limit` test records per value of each of `field_names` (manifest order, which
    the generators keep cohort-mixed): a record is taken while any of its values is short."""
    if limit is None or not field_names:
        return list(records) if limit is None else list(records)[:limit]
    counts: dict[tuple[str, str], int] = {}
    out = []
    for r in records:
        keys = [(f, stats.cohort_key({"cohort": r.cohort}, [f])) for f in field_names]
        keys = [k for k in keys if k[1] is not None]
        if keys and all(counts.get(k, 0) < limit for k in keys):
            out.append(r)
            for k in keys:
                counts[k] = counts.get(k, 0) + 1
    return out



def skew(spec, target, firmware_variant: Optional[str] = None,
         cohort_firmware: Optional[CohortFirmwareMap] = None, limit: Optional[int] = None,
         device: str = "qemu", jobs: Optional[int] = None, max_cohort_drop: float = 0.02,
         kernels: Optional[str] = None, pictures: bool = True,
         progress: Optional[Progress] = None, cluster=None) -> SkewResult:
    """Skew of `target`'s firmware for `spec`, per cohort (see the module docstring).

    firmware_variant: the firmware every cohort runs (default: the spec's own preprocessing);
    cohort_firmware: per-cohort firmware instead (load_cohort_firmware(..., others=V) makes V
    the firmware of the cohorts it does not list). limit: at most this many samples per value of the cohort
    fields the manifest maps (else the model's first cohort field, its device field).
    cluster: "local", "auto", "ray://HOST:PORT" or "HOST:PORT": the device batches run on a Ray
    cluster (edgekit.harness.cluster)."""
    t_start = time.perf_counter()
    if limit is not None and limit <= 0:
        raise UserError(f"--limit {limit}: must be a positive number of samples per cohort")
    if not 0 <= max_cohort_drop <= 1:
        raise UserError(f"--max-cohort-drop {max_cohort_drop}: must be a fraction between 0 and 1, e.g. 0.02")
    from edgekit.runtimes import backend_for

    if not backend_for(target).on_device_frontend:
        raise UserError(f"target {target.name}: runtime {target.runtime.name} has no on-device frontend; "
                        f"`edgekit skew` builds firmware for edgekit-micro targets (e.g. cortex-m4, cortex-m7); "
                        f"for this one give --captures DIR or --frontend-python FILE.py:FN")
    if firmware_variant == "none":
        raise UserError("--firmware-variant none: a firmware without a frontend cannot show preprocessing skew; "
                        "name a variant (or leave it out for the spec's own preprocessing)")
    from edgekit import data, frontends
    from edgekit.harness.summary import summarize
    from edgekit.report import write_reports

    if firmware_variant is not None:
        frontends.get_variant(spec, firmware_variant)
    if cohort_firmware is None:
        cohort_firmware = CohortFirmwareMap((), firmware_variant or DEFAULT_VARIANT)

    directory = resources.stage_dir(target.name, spec.name)
    skew_dir = directory / COHORT_RUNS_DIR
    recs_all = data.load_dataset(spec).split("test")
    group_fields = cohort_firmware.fields or list(spec.cohort_fields[:1])
    chosen = select_samples(recs_all, group_fields, limit)
    if not chosen:
        raise UserError(f"dataset of {spec.name}: no test samples; run `edgekit data prepare --model {spec.name}`")
    from contextlib import nullcontext

    from edgekit.harness.cluster import connect

    with connect(cluster, num_cpus=jobs) if cluster is not None else nullcontext() as cl:
        run = run_cohort_firmware(spec, target, cohort_firmware, chosen, skew_dir, device=device, jobs=jobs,
                                  kernels=kernels, parity=True, progress=progress, cluster=cl)
    all_records, fields, firmware_of, parity_parts = run.records, run.cohort_fields, run.firmware_of, run.parity_parts
    builds, parity_rows, variant_of, by_variant = run.builds, run.parity_rows, run.variant_of, run.records_paths
    resumed, new, fe_quant = run.resumed, run.new, run.input_quant
    section = summarize(all_records, target=target, model_name=spec.name, labels=spec.labels,
                        cohort_fields=fields, max_cohort_drop=max_cohort_drop, memory=None,
                        device_info={"spec": device})
    decomposition = analysis.decomposition(section)
    by_firmware = preprocessing_by_firmware(all_records, variant_of, spec.cohort_fields, max_cohort_drop) \
        if len(cohort_firmware.variants) > 1 else {}
    for d in decomposition:
        d["firmware"] = sorted(firmware_of.get((d["field"], d["value"]), ()))
        if len(d["firmware"]) > 1 and (d["field"], d["value"]) in by_firmware:
            d["preprocessing_by_firmware"] = by_firmware[(d["field"], d["value"])]
        parts = parity_parts.get((d["field"], d["value"]))
        d["parity"] = analysis.merge_parity(parts) if parts else None
    from edgekit.skew.firmware_interaction import add_interaction

    add_interaction(spec, target, run.tflite, decomposition, chosen, variant_of, fields, FIRMWARE_FIELD,
                    len(cohort_firmware.variants) > 1, cohort_firmware.frontends, max_cohort_drop, progress)
    pre_skew = analysis.preprocessing_skew(decomposition, firmware_of, max_cohort_drop)
    for f in pre_skew:  # the int8 / float split of the flagged drop, measured on the host 2x2
        h = next((d.get("host_2x2") for d in decomposition if (d["field"], d["value"]) == (f["field"], f["value"])), None)
        if h and h["preprocessing_float"]:
            f["float_difference"] = h["preprocessing_float"]["difference"]
            f["interaction"] = h["interaction"]
            f["saturated_share"] = device_clip_share(h["saturation"])[1]
    from edgekit.skew.firmware_diagnosis import diagnose_flagged

    diagnose_flagged(spec, fe_quant, pre_skew, chosen, variant_of, cohort_firmware.frontends)
    for f in section["flagged"]:
        f["firmware"] = sorted(firmware_of.get((f["field"], f["value"]), ()))
    prefer = [(f["field"], f["value"]) for f in pre_skew + section["flagged"] if f["field"] != "all"]
    examples = analysis.examples(sorted(all_records, key=lambda r: r["id"]), spec.labels, prefer)

    pictures_written: list[Path] = []
    if pictures:
        recs_by_id = {r.id: r for r in chosen}
        ids = [e["id"] for e in examples["preprocessing"]["examples"][:3]]
        from edgekit.skew.pictures import example_pictures

        pic_dir = skew_dir / "examples"
        pictures_written = example_pictures(spec, fe_quant, ids, variant_of, recs_by_id, pic_dir,
                                            cohort_firmware.frontends)
        by_id = {sid: p for sid in ids for p in pictures_written if p.stem == sid.replace('/', '_')}
        for e in examples["preprocessing"]["examples"]:
            if e["id"] in by_id:
                e["picture"] = str(by_id[e["id"]])

    overall_acc = {p: st.get("accuracy") for p, st in section["paths"].items()}
    out = {
        "schema": "edgekit.skew", "version": 1,
        "target": target.name, "model": spec.name, "device": device,
        "question": "is there training-serving skew on this firmware, where, and how much",
        "firmware": cohort_firmware.as_json(), "builds": builds,
        "samples": {"total": len(all_records), "per_field_limit": limit, "limited_by": group_fields,
                    "device_errors": section["samples"]["device_errors"]},
        "max_cohort_drop": max_cohort_drop,
        "paths": section["paths"],
        "bit_exact": section["bit_exact"],
        "decomposition": decomposition,
        "decomposition_how": ("measured: paired differences per cohort on the same samples, 95% interval "
                              "(paired Wald) and McNemar's p; quantization = float -> int8 host, kernels = int8 "
                              "host -> device with host features, preprocessing = device with host features -> "
                              "device end to end from raw input"),
        "parity": parity_rows,
        "parity_how": ("measured: host build of the firmware's C frontend vs the Python reference "
                       "preprocessing on the same raw inputs, in int8 steps of the model input"),
        "flagged": section["flagged"],
        "preprocessing_skew": pre_skew,
        "examples": examples,
        "latency": {k: section["latency"].get(k) for k in ("frontend", "model", "request")},
        "records": {v: str(p) for v, p in by_variant.items()},
    }
    from edgekit.report.gates import skew_gate_rows

    report_json = reportstore.write_section(directory, SECTION, out)
    html = write_reports(directory).html
    return SkewResult(target=target.name, model=spec.name, directory=directory, report_json=report_json,
                      firmware=cohort_firmware.as_json(), samples=len(all_records), resumed=resumed, new=new,
                      accuracy=overall_acc, decomposition=decomposition, parity=parity_rows,
                      flagged=section["flagged"], preprocessing_skew=pre_skew, examples=examples,
                      example_pictures=pictures_written, builds=builds, wall_s=time.perf_counter() - t_start,
                      html=html, max_cohort_drop=max_cohort_drop, gates=skew_gate_rows(out))
