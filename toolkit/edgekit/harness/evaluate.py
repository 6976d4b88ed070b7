"""`edgekit eval` as a library call: build if needed, run the test split over the four paths,
summarize, write report.json (sections "eval" and "eval_run"), report.html, junit.xml, and
enforce the gates.

    from edgekit.harness.evaluate import evaluate
    res = evaluate(load_model("kws"), load_target("cortex-m4"))
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from edgekit import reportstore, resources
from edgekit.errors import UserError
from edgekit.fileio import sha256_file
from edgekit.harness import core
from edgekit.harness.build_cache import build_for_eval
from edgekit.harness.host_cache import HostReferenceCache
from edgekit.harness.records import RecordStore
from edgekit.harness.runner import DeviceJob, DeviceOpener
from edgekit.harness.summary import MemoryFigures, summarize

# progress(description, done, total), as everywhere in edgekit
Progress = Callable[[str, int, int], None]

@dataclass(frozen=True)
class EvalResult:
    directory: Path
    report_json: Path
    html: Path
    junit: Path
    records: Path
    samples: int
    resumed: int
    new: int
    accuracy: dict            # path -> overall accuracy (None when the path did not run)
    flagged: list
    gates_failed: int
    wall_s: float
    moved_aside: Optional[Path] = None   # records of another model/firmware/data, kept aside
    # --cohort-firmware: firmware variant -> cohorts flagged for preprocessing that it carries
    firmware_carried: Optional[dict] = None



def _model_cpi(directory: Path) -> Optional[float]:
    """Cycles per instruction of the model from the build's cycle estimate in this report, if any."""
    try:
        cyc = (reportstore.read_report(directory).get("build") or {}).get("cycles_per_inference") or {}
    except (OSError, ValueError):
        return None
    return cyc.get("cycles_per_instruction")


def _firmware_image(build_result):
    """What open_device takes: the BuildResult itself (it carries .elf and the link sizes)."""
    if getattr(build_result, "elf", None) is not None:
        return build_result
    raise UserError("edgekit build produced no firmware image for this target; "
                    "`edgekit eval` on a device needs an edgekit-micro target (e.g. cortex-m4)")


def _tflite_path(build_result, directory: Path) -> Path:
    for name in ("tflite", "tflite_path", "model_int8"):
        p = getattr(build_result, name, None)
        if p is not None:
            return Path(p)
    conv = getattr(build_result, "convert", None)
    for name in ("tflite", "tflite_path", "int8_path"):
        p = getattr(conv, name, None) if conv is not None else None
        if p is not None:
            return Path(p)
    return directory / "model_int8.tflite"


def evaluate(spec, target, device: Optional[str] = None, jobs: Optional[int] = None, limit: Optional[int] = None,
             combos: Sequence[Sequence[str]] = (), min_accuracy: Optional[float] = None,
             max_cohort_drop: float = 0.02, firmware_variant: Optional[str] = None,
             progress: Optional[Progress] = None, enforce_gates: bool = True,
             cohort_firmware=None, cluster=None) -> EvalResult:
    """cohort_firmware: an edgekit.harness.fleet.CohortFirmwareMap (load_cohort_firmware) when device
    cohorts run different firmware: each sample then runs on its cohort's firmware, and the
    report gains the cohort field "firmware" (see _evaluate_cohort_firmware).
    cluster: "local", "auto", "ray://HOST:PORT" or "HOST:PORT" (or a RayCluster): the device
    batches run on a Ray cluster (edgekit.harness.cluster); records, resume, report unchanged.
    device: a --device spec ("qemu", the default, or "serial:PORT[@baud]") for firmware; None
    for a runtime whose device is a host session (its backend's eval_source)."""
    if cluster is None:
        return _evaluate(spec, target, device, jobs, limit, combos, min_accuracy, max_cohort_drop,
                         firmware_variant, progress, enforce_gates, cohort_firmware, None)
    from edgekit.harness.cluster import connect

    with connect(cluster, num_cpus=jobs) as cl:
        return _evaluate(spec, target, device, jobs, limit, combos, min_accuracy, max_cohort_drop,
                         firmware_variant, progress, enforce_gates, cohort_firmware, cl)


def _evaluate(spec, target, device, jobs, limit, combos, min_accuracy, max_cohort_drop, firmware_variant,
              progress, enforce_gates, cohort_firmware, cluster) -> EvalResult:
    t_start = time.perf_counter()
    if min_accuracy is not None and not 0 <= min_accuracy <= 1:
        raise UserError(f"--min-accuracy {min_accuracy}: must be a fraction between 0 and 1, e.g. 0.85")
    if not 0 <= max_cohort_drop <= 1:
        raise UserError(f"--max-cohort-drop {max_cohort_drop}: must be a fraction between 0 and 1, e.g. 0.02")
    known_fields = list(spec.cohort_fields) + (["firmware"] if cohort_firmware is not None else [])
    for c in combos:
        bad = [f for f in c if f not in known_fields]
        if bad:
            raise UserError(f"--cohorts {'+'.join(c)}: unknown cohort field {bad[0]!r}; "
                            f"{spec.name} has {', '.join(known_fields) or 'none'}")
    from edgekit.runtimes import backend_for

    backend = backend_for(target)
    backend.check_can_evaluate(spec, target)
    directory = resources.stage_dir(target.name, spec.name)
    say = progress or (lambda *a: None)

    def build_stage() -> None:  # for a runtime without firmware, whose model file is missing
        from edgekit.build import build

        say("build", 0, 1)
        build(spec, target, check_budgets=False)
        say("build", 1, 1)

    hosted = backend.eval_source(spec, target, directory, build_stage)
    if hosted is not None:
        if device is not None or cohort_firmware is not None or cluster is not None:
            raise UserError(f"target {target.name}: runtime {target.runtime.name} evaluates on {hosted.device} "
                            f"(a host session); --device, --cohort-firmware and --cluster do not apply")
        return _evaluate_host_session(spec, target, hosted, directory, limit, combos, min_accuracy,
                                      max_cohort_drop, say, enforce_gates, t_start)
    device = device or "qemu"
    from edgekit.devices import kind_for

    device_kind = kind_for(device)
    kind = device_kind.parse(device).kind

    from edgekit import data, interpreters

    if cohort_firmware is not None:
        return _evaluate_cohort_firmware(spec, target, cohort_firmware, directory, device, jobs, limit, combos,
                                         min_accuracy, max_cohort_drop, say, enforce_gates, t_start, cluster)
    say("build", 0, 1)
    t_build = time.perf_counter()
    # Budgets are gated below on the measured latency of the whole split, not on the build's few
    # inferences; an up-to-date build is reused (harness/build_cache.py: same inputs, same figures).
    ds = data.load_dataset(spec)
    built, build_reused = build_for_eval(spec, target, firmware_variant, directory, extra=ds.data_hash)
    build_s = time.perf_counter() - t_build
    say("build", 1, 1)
    image = _firmware_image(built)
    tflite = _tflite_path(built, directory)

    X, y, recs = data.split_arrays(spec, "test", limit=limit)
    samples = [core.EvalSample(r.id, int(r.label), dict(r.cohort)) for r in recs]
    index = {r.id: i for i, r in enumerate(recs)}
    in_q, out_q = interpreters.io_quant(tflite)
    xq = in_q.quantize(X)  # the smallest tensor the features path allows: int8, as the model takes it
    quant = core.OutputQuant(out_q.scale, out_q.zero_point, out_q.dtype)

    identity = {"model": spec.name, "target": target.name, "tflite_sha256": sha256_file(tflite),
                "elf_sha256": sha256_file(Path(image.elf)), "data_hash": ds.data_hash, "device": kind,
                # the float path reads the weights: a retrained model must not mix with old records
                "weights_sha256": sha256_file(spec.weights_path) if spec.weights_path.is_file() else None}
    eval_dir = directory / "eval"

    opener = DeviceOpener(device, target, str(image.elf))
    # One short session to learn what the firmware offers (its frontend, its timer unit);
    # on a cluster, on one of its nodes (a board may be attached only there).
    info = opener.info(cluster)
    info_d = asdict(info) if is_dataclass(info) else dict(vars(info))
    has_frontend = str(info_d.get("preprocessing", "none")).lower() not in ("", "none")
    unavailable = {} if has_frontend else {
        "device_e2e": "unavailable: this firmware has no on-device frontend (preprocessing: none)"}

    float_scores = core.float_scorer(spec.weights_path)
    host_cache = HostReferenceCache(directory, {k: identity[k] for k in ("model", "tflite_sha256", "weights_sha256",
                                                                          "data_hash")})

    def host_paths(pending: list[core.EvalSample]) -> dict:
        idx = np.array([index[s.id] for s in pending], dtype=np.int64)
        say("host reference (float, int8 on LiteRT ref)", 0, len(pending))
        return core.host_parts(pending, X[idx], xq[idx], float_scores, tflite, quant, host_cache)

    def jobs_for(s: core.EvalSample) -> DeviceJob:
        features = xq[index[s.id]].tobytes()
        payloads = {"device_features": ("features", features)}
        if not has_frontend:
            return DeviceJob(s.id, payloads)
        from edgekit.frontends.raw import raw_bytes

        payloads["device_e2e"] = ("raw", raw_bytes(spec, data.load_raw(spec, recs[index[s.id]])))
        # Where the device's frontend produces exactly the host's features, the features path
        # is the end-to-end inference's model run: it is not run a second time.
        return DeviceJob(s.id, payloads, same_input={"device_features": ("device_e2e", features)})

    sessions = device_kind.sessions(jobs)
    with RecordStore(eval_dir, identity) as store:
        hres = core.run(samples, store, host_paths, jobs_for, opener,
                        lambda path, r: core.device_part(r, quant), unavailable,
                        sessions=sessions, cluster=cluster,
                        progress=lambda done, total: say("device", done, total))
        wanted = {s.id for s in samples}
        records = [r for r in store.records() if r["id"] in wanted]

    memory = MemoryFigures(int(image.flash_bytes), int(image.ram_bytes), "measured from link")
    section = summarize(records, target=target, model_name=spec.name, labels=spec.labels,
                        cohort_fields=spec.cohort_fields, combos=combos, max_cohort_drop=max_cohort_drop,
                        memory=memory,
                        device_info={"spec": device, **{k: v for k, v in info_d.items() if k != "fields"}},
                        model_cpi=_model_cpi(directory))
    _write_eval(directory, section, firmware_variant, limit, min_accuracy)
    wall = time.perf_counter() - t_start
    d = hres.device
    run_info = {"wall_s": wall, "build_s": build_s, "build_reused": build_reused, "samples": len(samples), "resumed": hres.resumed, "new": hres.new,
                "samples_per_s_this_run": (hres.new / hres.wall_s) if hres.wall_s and hres.new else None,
                "sessions": d.sessions if d else 0, "restarts": d.restarts if d else 0,
                "host_reference_s": hres.host_s,
                "host_reference_reused": host_cache.reused, "host_reference_computed": host_cache.computed, "device_call_s": d.device_call_s if d else 0.0,
                "session_startup_s": d.startup_s if d else 0.0, "device_batches": d.batches if d else 0, "bytes_sent": d.bytes_sent if d else 0,
                "records": str(hres.records_path),
                "cluster": None if cluster is None else cluster.summary(),
                "moved_aside": str(hres.moved_aside) if hres.moved_aside else None}
    reportstore.write_section(directory, "eval_run", run_info)
    return _finish(directory, section, hres.records_path, len(samples), hres.resumed, hres.new, wall,
                   hres.moved_aside, enforce_gates)


def _write_eval(directory: Path, section: dict, firmware_variant: Optional[str], limit: Optional[int],
                min_accuracy: Optional[float]) -> None:
    """The eval section's run settings and gates, written to report.json (every kind of eval)."""
    from edgekit.report.gates import gate_rows

    section["firmware_variant"] = firmware_variant
    section["limit"] = limit
    section["gates"] = gate_rows(section, min_accuracy)
    reportstore.write_section(directory, "eval", section)


def _finish(directory: Path, section: dict, records: Path, samples: int, resumed: int, new: int, wall: float,
            moved_aside: Optional[Path], enforce_gates: bool) -> EvalResult:
    """Write report.html and junit.xml from report.json, then enforce the gates (last, so the
    reports exist whatever the outcome)."""
    from edgekit.report import write_reports
    from edgekit.report.gates import enforce

    files = write_reports(directory)
    result = EvalResult(directory=directory, report_json=files.report_json, html=files.html, junit=files.junit,
                        records=records, samples=samples, resumed=resumed, new=new,
                        accuracy={p: st.get("accuracy") for p, st in section["paths"].items()},
                        flagged=section["flagged"], gates_failed=sum(1 for g in section["gates"] if not g["passed"]),
                        wall_s=wall, moved_aside=moved_aside,
                        firmware_carried=(section.get("cohort_firmware") or {}).get("flagged_cohorts_carried"))
    if enforce_gates:
        enforce(section["gates"])
    return result


def _evaluate_host_session(spec, target, source, directory: Path, limit: Optional[int], combos,
                           min_accuracy: Optional[float], max_cohort_drop: float, say, enforce_gates: bool,
                           t_start: float) -> EvalResult:
    """A runtime whose device is a host session (host sessions): `source`, from its backend's
    eval_source, is run like a device through the same records, summary, gates and reports.
    It provides: device (a name), sessions, unavailable (path -> reason), path_descriptions,
    identity (what the records depend on), device_info, host_scores(X) -> {path: scores},
    payload(x) -> bytes, opener(input_shape) -> a callable opening a session with
    infer_batch/infer/restart/close, scores(result) -> the scores of one device result, and
    analysis(records) -> what the eval section adds (its "tolerance" gates the device
    against a reference path: report.gates.tolerance_rows)."""
    from edgekit import data

    ds = data.load_dataset(spec)
    X, _, recs = data.split_arrays(spec, "test", limit=limit)
    if not len(recs):
        raise UserError(f"dataset of {spec.name}: no test samples; run `edgekit data prepare --model {spec.name}`")
    samples = [core.EvalSample(r.id, int(r.label), dict(r.cohort)) for r in recs]
    index = {r.id: i for i, r in enumerate(recs)}

    def host_paths(pending: list[core.EvalSample]) -> dict:
        say("host reference", 0, len(pending))
        scores = source.host_scores(X[np.array([index[s.id] for s in pending], dtype=np.int64)])
        return {s.id: {p: core.scores_part(v[k]) for p, v in scores.items()} for k, s in enumerate(pending)}

    def jobs_for(s: core.EvalSample) -> DeviceJob:
        return DeviceJob(s.id, {"device_features": ("features", source.payload(X[index[s.id]]))})

    with RecordStore(directory / "eval", {"model": spec.name, "target": target.name, "data_hash": ds.data_hash,
                                          **source.identity}) as store:
        hres = core.run(samples, store, host_paths, jobs_for, source.opener(X.shape[1:]),
                        lambda path, r: core.scores_part(source.scores(r)), source.unavailable,
                        sessions=source.sessions, progress=lambda done, total: say("device", done, total))
        wanted = {s.id for s in samples}
        records = [r for r in store.records() if r["id"] in wanted]
    section = summarize(records, target=target, model_name=spec.name, labels=spec.labels,
                        cohort_fields=spec.cohort_fields, combos=combos, max_cohort_drop=max_cohort_drop,
                        device_info=source.device_info)
    for path, text in source.path_descriptions.items():
        section["paths"][path]["description"] = text
    section.update(source.analysis(records))
    _write_eval(directory, section, None, limit, min_accuracy)
    wall = time.perf_counter() - t_start
    reportstore.write_section(directory, "eval_run", {
        "wall_s": wall, "samples": len(samples), "resumed": hres.resumed, "new": hres.new,
        "host_reference_s": hres.host_s, "device_call_s": hres.device.device_call_s if hres.device else 0.0,
        "records": str(hres.records_path), "moved_aside": str(hres.moved_aside) if hres.moved_aside else None})
    return _finish(directory, section, hres.records_path, len(samples), hres.resumed, hres.new, wall,
                   hres.moved_aside, enforce_gates)


def _evaluate_cohort_firmware(spec, target, cohort_firmware, directory: Path, device: str, jobs: Optional[int],
                              limit: Optional[int], combos, min_accuracy: Optional[float], max_cohort_drop: float,
                              say, enforce_gates: bool, t_start: float, cluster=None) -> EvalResult:
    """The fleet as it is: every test sample runs on the firmware its cohort ships (one image
    per variant, built and run by edgekit.harness.fleet.run_cohort_firmware), so a cohort whose
    firmware preprocesses differently shows up as a flagged cohort explained by preprocessing.
    Memory is gated on the largest of the images, since each must fit the part."""
    from edgekit import data
    from edgekit.harness.summary import summarize
    from edgekit.harness.fleet import COHORT_RUNS_DIR, carried_by, preprocessing_by_firmware, run_cohort_firmware

    chosen = data.load_dataset(spec).split("test")
    if limit is not None:
        chosen = chosen[:limit]
    if not chosen:
        raise UserError(f"dataset of {spec.name}: no test samples; run `edgekit data prepare --model {spec.name}`")
    run_dir = directory / COHORT_RUNS_DIR
    run = run_cohort_firmware(spec, target, cohort_firmware, chosen, run_dir, device=device, jobs=jobs,
                              parity=False, progress=say, cluster=cluster)
    builds = run.builds
    memory = MemoryFigures(max(b["flash_bytes"] for b in builds.values()),
                           max(b["ram_bytes"] for b in builds.values()),
                           "measured from link" + (f" (largest of {len(builds)} firmware images)"
                                                   if len(builds) > 1 else ""))
    fw_text = ", ".join(f"{k} -> {v}" for k, v in cohort_firmware.as_json().items())
    section = summarize(run.records, target=target, model_name=spec.name, labels=spec.labels,
                        cohort_fields=run.cohort_fields, combos=combos, max_cohort_drop=max_cohort_drop,
                        memory=memory, device_info={"spec": device, "firmware": fw_text})
    if len(builds) > 1:
        # A flagged cohort whose samples ran several firmware: which firmware carries the drop.
        split = preprocessing_by_firmware(run.records, run.variant_of, spec.cohort_fields, max_cohort_drop)
        for f in section["flagged"]:
            fw = sorted(run.firmware_of.get((f["field"], f["value"]), ()))
            f["firmware"] = fw
            if f["stage"] == "preprocessing" and len(fw) > 1:
                f["carried_by"] = carried_by(fw, split.get((f["field"], f["value"]), {}), max_cohort_drop)
    # Per firmware: how many cohorts flagged for preprocessing its devices carry (the answer
    # to "which firmware"); quantization does not depend on the firmware.
    carried: dict[str, int] = {}
    for f in section["flagged"]:
        if f["stage"] == "preprocessing":
            for v in f.get("carried_by", f.get("firmware", [])):
                carried[v] = carried.get(v, 0) + 1
    section["cohort_firmware"] = {"manifest": cohort_firmware.as_json(), "builds": builds,
                                  "flagged_cohorts_carried": carried}
    _write_eval(directory, section, None, limit, min_accuracy)
    wall = time.perf_counter() - t_start
    reportstore.write_section(directory, "eval_run", {
        "wall_s": wall, "samples": len(run.records), "resumed": run.resumed, "new": run.new,
        "records": {v: str(p) for v, p in run.records_paths.items()}})
    return _finish(directory, section, run_dir, len(run.records), run.resumed, run.new, wall, None, enforce_gates)
