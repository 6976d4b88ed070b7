"""The fleet as it ships: device cohorts running different firmware.

A cohort manifest (`sensor-b: fast-resize`, `mic=telephone: q15-fft`, `*: default`) says
which firmware variant each device cohort runs; `run_cohort_firmware` builds one firmware per
variant (a build cache under the run directory, reused while none of its inputs changed) and
runs every chosen test sample on its cohort's firmware through the harness loop, so the
records say which firmware produced each prediction (cohort field "firmware").

Used by `edgekit eval --cohort-firmware` (harness/evaluate.py) and `edgekit skew`
(edgekit.skew.firmware); see docs/ARCHITECTURE.md (harness).

    from edgekit.harness.fleet import load_cohort_firmware, run_cohort_firmware
    run = run_cohort_firmware(spec, target, load_cohort_firmware(spec, "sensor-b:fast-resize"),
                              chosen, out_dir)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np

from edgekit import reportstore, resources, stats
from edgekit.errors import UserError
from edgekit.fileio import sha256_file

Progress = Callable[[str, int, int], None]

DEFAULT_VARIANT = "default"
OTHERS_KEY = "*"              # cohort manifest key: the firmware of cohorts not listed
FIRMWARE_FIELD = "firmware"   # cohort field added to records when cohorts run different firmware
# Per-firmware builds and records under build/<target>/<model>/: shared by `edgekit skew` and
# `edgekit eval --cohort-firmware`, since a sample on the same firmware is the same record.
COHORT_RUNS_DIR = "skew"

# ----------------------------------------------------------------------------- cohort manifest

@dataclass(frozen=True)
class CohortFirmwareEntry:
    field: str
    value: str
    variant: str


@dataclass(frozen=True)
class CohortFirmwareMap:
    """Which firmware variant each device cohort runs; cohorts not listed run `others`."""

    entries: tuple[CohortFirmwareEntry, ...] = ()
    others: str = DEFAULT_VARIANT
    source: str = ""
    # Firmware named by a user C frontend's label -> its edgekit.frontends.user_c.UserCFrontend.
    frontends: dict = field(default_factory=dict, compare=False, hash=False)

    def variant_for(self, cohort: Mapping) -> str:
        rec = {"cohort": cohort}
        for e in self.entries:
            if stats.cohort_key(rec, [e.field]) == e.value:
                return e.variant
        return self.others

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys([self.others, *(e.variant for e in self.entries)]))

    @property
    def fields(self) -> list[str]:
        return list(dict.fromkeys(e.field for e in self.entries))

    def as_json(self) -> dict:
        out = {f"{e.field}={e.value}": e.variant for e in self.entries}
        out[OTHERS_KEY] = self.others
        return out


def _parse_manifest_text(text: str, where: str) -> dict:
    """`sensor-b: fast-resize` lines (YAML) or inline `sensor-b:fast-resize,mic=telephone:q15`."""
    from edgekit.yamlio import read_yaml_mapping

    p = Path(text)
    if p.suffix in (".yaml", ".yml", ".json") or p.is_file():
        if not p.is_file():
            raise UserError(f"{p}: cohort manifest not found; give a YAML file of `cohort: variant` lines "
                            f"or inline pairs such as sensor-b:fast-resize")
        return read_yaml_mapping(p)
    out = {}
    for part in text.split(","):
        key, sep, variant = part.strip().rpartition(":")
        if not sep or not key.strip() or not variant.strip():
            raise UserError(f"{where} {text!r}: expected `cohort:variant[,cohort:variant]` "
                            f"(e.g. sensor-b:fast-resize) or a YAML file")
        out[key.strip()] = variant.strip()
    return out


def load_cohort_firmware(spec, manifest: Union[str, Path, Mapping, None], others=None,
                         records: Optional[Sequence] = None) -> CohortFirmwareMap:
    """A cohort manifest -> CohortFirmwareMap, checked against the model's variants and the
    dataset's cohorts.

    manifest: a YAML file, inline text, or a mapping; keys are a cohort value (`sensor-b`,
    looked up in the model's cohort fields) or `field=value`; `*` names the firmware of the
    cohorts not listed (default: `others`, else the spec's own preprocessing).
    A value may name the user's C frontend instead of a variant: `{frontend: [a.c, b.c],
    include: [dir], define: [N=V]}` (paths from the manifest's folder), inline `a.c`, or (for
    `others`) an edgekit.frontends.user_c.UserCFrontend; one firmware per distinct frontend.
    records: SampleRecords to check the cohort values against (default: the test split)."""
    from edgekit.frontends import get_variant

    where = "--cohort-firmware"
    if manifest is None:
        raw: dict = {}
    elif isinstance(manifest, Mapping):
        raw = dict(manifest)
    else:
        where = str(manifest) if Path(str(manifest)).is_file() else where
        raw = _parse_manifest_text(str(manifest), where)
    raw = {str(k): v for k, v in raw.items()}
    frontends: dict = {}
    base = Path(str(manifest)).parent if isinstance(manifest, (str, Path)) and Path(str(manifest)).is_file() else None

    def user_label(key: str, value) -> Optional[str]:
        """A user C frontend's label when `value` names one, else None."""
        from edgekit.frontends.user_c import UserCFrontend

        if isinstance(value, Mapping):
            value = UserCFrontend.from_manifest(value, f"{where}: {key}", base=base)
        elif isinstance(value, str) and value.endswith(".c"):
            value = UserCFrontend.from_options(value, where=f"{where}: {key}", base=base)
        if not isinstance(value, UserCFrontend):
            return None
        label = value.label
        if frontends.get(label, value) != value:  # same file name and defines, other code
            label = f"{label}-{value.content_hash()[:8]}"
        frontends[label] = value
        return label

    others_v = raw.pop(OTHERS_KEY, None) or others or DEFAULT_VARIANT
    others_v = user_label(OTHERS_KEY, others_v) or others_v
    if others_v not in frontends:
        get_variant(spec, str(others_v))  # UserError naming the known variants
    if records is None:
        from edgekit.data import load_dataset

        records = load_dataset(spec).split("test")
    seen: dict[str, set[str]] = {f: set() for f in spec.cohort_fields}
    for r in records:
        for f in spec.cohort_fields:
            k = stats.cohort_key({"cohort": r.cohort}, [f])
            if k is not None:
                seen[f].add(k)
    entries = []
    for key, variant in raw.items():
        variant = user_label(key, variant) or variant
        if not isinstance(variant, str) or not variant:
            raise UserError(f"{where}: {key}: expected a firmware variant name or {{frontend: [FILE.c]}}, "
                            f"got {variant!r}")
        try:
            if variant not in frontends:
                get_variant(spec, variant)
        except UserError as exc:
            raise UserError(f"{where}: {key}: variant {variant} "
                            f"{str(exc).removeprefix(f'--firmware-variant {variant}: ')}") from None
        fld, sep, value = key.partition("=")
        if sep:
            if fld not in seen:
                raise UserError(f"{where}: {key}: unknown cohort field {fld!r}; "
                                f"{spec.name} has {', '.join(spec.cohort_fields)}")
            if value not in seen[fld]:
                raise UserError(f"{where}: {key}: no test sample has {fld}={value}; "
                                f"values: {', '.join(sorted(seen[fld]))}")
            entries.append(CohortFirmwareEntry(fld, value, variant))
            continue
        fields = [f for f, vals in seen.items() if key in vals]
        if not fields:
            known = "; ".join(f"{f}: {', '.join(sorted(v))}" for f, v in seen.items() if v)
            raise UserError(f"{where}: {key}: no cohort has this value; known cohorts are {known}")
        if len(fields) > 1:
            raise UserError(f"{where}: {key}: is a value of several cohort fields ({', '.join(fields)}); "
                            f"write field=value, e.g. {fields[0]}={key}")
        entries.append(CohortFirmwareEntry(fields[0], key, variant))
    return CohortFirmwareMap(tuple(entries), str(others_v), where if manifest is not None else "", frontends)


# ----------------------------------------------------------------------------- result

@dataclass(frozen=True)
class _Firmware:
    variant: str
    elf: Path
    flash_bytes: int
    ram_bytes: int
    directory: Path
    reused: bool
    frontend: Optional[dict] = None     # the frontend's own flash/RAM (build section "frontend")


# ----------------------------------------------------------------------------- helpers

def _firmware_inputs_hash(spec, target, tflite: Path, variant: str, kernels: Optional[str], user_frontend=None) -> str:
    """Everything a firmware build reads: the C tree, the int8 model, the target profile and
    the variant's knobs. Equal hash -> the existing ELF is that firmware."""
    from edgekit.frontends import get_variant

    h = hashlib.sha256()
    fw = resources.firmware_dir()
    for p in sorted(fw.rglob("*")):
        if p.is_file() and p.suffix in (".c", ".h", ".ld", ".s", ".S", ".py", ".yaml", ".txt", ".mk"):
            h.update(str(p.relative_to(fw)).encode())
            h.update(p.read_bytes())
    h.update(sha256_file(tflite).encode())
    h.update(json.dumps(target.model_dump(mode="json") if hasattr(target, "model_dump") else str(target),
                        sort_keys=True, default=str).encode())
    h.update((user_frontend.content_hash() if user_frontend is not None
              else get_variant(spec, variant).model_dump_json()).encode())
    h.update(str(kernels).encode())
    import edgekit

    pkg = Path(edgekit.__file__).parent
    for sub in ("codegen", "frontends", "firmware"):
        for p in sorted((pkg / sub).glob("*.py")):
            h.update(p.read_bytes())
    return h.hexdigest()


def firmware_for_variant(spec, target, tflite: Path, variant: str, skew_dir: Path, kernels: Optional[str],
              progress, user_frontend=None) -> _Firmware:
    """One firmware per variant in skew/fw-<variant>/, built with edgekit.build (codegen,
    link, a QEMU check against tflite-micro), reused while none of its inputs changed."""
    from edgekit.build import build

    out = skew_dir / f"fw-{variant}"
    stamp = out / "skew_build.json"
    key = _firmware_inputs_hash(spec, target, tflite, variant, kernels, user_frontend)
    if stamp.is_file():
        try:
            saved = json.loads(stamp.read_text())
        except (OSError, json.JSONDecodeError):
            saved = {}
        if saved.get("inputs") == key and Path(saved.get("elf", "")).is_file() \
                and sha256_file(Path(saved["elf"])) == saved.get("elf_sha256"):
            return _Firmware(variant, Path(saved["elf"]), int(saved["flash_bytes"]), int(saved["ram_bytes"]),
                             out, True, saved.get("frontend"))
    if progress:
        progress(f"build firmware ({variant})", 0, 1)
    res = build(spec, target, firmware_variant=variant, kernels=kernels, tflite_path=tflite, out_dir=out,
                check_budgets=False, n_inferences=2, user_frontend=user_frontend)
    if res.elf is None:
        raise UserError(f"target {target.name}: no firmware image; `edgekit skew` runs edgekit-micro targets")
    fe_mem = (reportstore.read_report(out).get("build") or {}).get("frontend")
    reportstore.write_json_atomic(stamp, {"inputs": key, "elf": str(res.elf), "elf_sha256": sha256_file(Path(res.elf)),
                                          "flash_bytes": res.flash_bytes, "ram_bytes": res.ram_bytes,
                                          "frontend": fe_mem})
    if progress:
        progress(f"build firmware ({variant})", 1, 1)
    return _Firmware(variant, Path(res.elf), int(res.flash_bytes), int(res.ram_bytes), out, False, fe_mem)


def preprocessing_by_firmware(records: Sequence[Mapping], variant_of: Mapping[str, str],
                               fields: Sequence[str], threshold: float) -> dict:
    """(field, value) -> {variant: the preprocessing step on that cohort's samples that ran
    this firmware}: splits a cohort whose samples ran several firmware (noise=babble on a
    fleet where only the telephone devices run a variant), so the report says which
    firmware carries its drop."""
    out: dict = {}
    for variant in sorted(set(variant_of.values())):
        subset = [r for r in records if variant_of.get(r["id"]) == variant]
        for c in stats.compare_paths(subset, "device_features", "device_e2e", fields, threshold=threshold):
            out.setdefault((c.field, c.value), {})[variant] = {
                "n": c.n, "difference": c.difference, "ci_low": c.diff_ci_low, "ci_high": c.diff_ci_high,
                "p_value": c.p_value, "significant": c.significant}
    return out


def carried_by(firmware: Sequence[str], by_firmware: Mapping[str, dict], threshold: float) -> list[str]:
    """The firmware whose samples of a cohort drop by more than `threshold` in the
    preprocessing step (by_firmware: one cohort's entry of preprocessing_by_firmware); a
    cohort on one firmware is carried by it."""
    if len(firmware) <= 1:
        return list(firmware)
    return [v for v in firmware if v in by_firmware and -by_firmware[v]["difference"] > threshold]


def _frontend_share(records: Sequence[Mapping]) -> Optional[dict]:
    """Median frontend and model counts of the end-to-end requests on one firmware, and the
    frontend's share of the request (what a faster model kernel cannot buy back)."""
    parts = [r["paths"].get("device_e2e") or {} for r in records]
    ok = [p for p in parts if p.get("status") == "ok" and "frontend_count" in p]
    if not ok:
        return None
    fe = float(np.median([p["frontend_count"] for p in ok]))
    mo = float(np.median([p["model_count"] for p in ok]))
    return {"frontend_p50": fe, "model_p50": mo, "frontend_share": fe / (fe + mo) if fe + mo else None,
            "unit": ok[0].get("unit"), "n": len(ok),
            "how": "counted on the device per request (median over the samples run end to end)"}


# ----------------------------------------------------------------------------- the command

@dataclass
class CohortFirmwareRun:
    """Every chosen sample run on its cohort's firmware (one build and one record store per
    variant): the merged per-sample records, ready for edgekit.harness.summary.summarize."""

    records: list[dict]                 # cohort gains FIRMWARE_FIELD when several variants ran
    cohort_fields: list[str]            # the model's cohort fields (+ FIRMWARE_FIELD then)
    builds: dict[str, dict]             # variant -> firmware facts (ELF, flash/RAM measured from link)
    variant_of: dict[str, str]          # sample id -> variant it ran on
    firmware_of: dict                   # (field, value) -> set of variants its samples ran on
    records_paths: dict[str, Path]      # variant -> records.jsonl
    parity_rows: list[dict]             # per variant and cohort (empty when parity=False)
    parity_parts: dict                  # (field, value) -> [ParityStats] over the variants
    resumed: int
    new: int
    tflite: Path
    input_quant: object


def run_cohort_firmware(spec, target, cohort_firmware: CohortFirmwareMap, chosen: Sequence, out_dir: Path,
                        device: str = "qemu", jobs: Optional[int] = None, kernels: Optional[str] = None,
                        parity: bool = True, progress: Optional[Progress] = None,
                        cluster=None) -> CohortFirmwareRun:
    """Build one firmware per variant the manifest uses (out_dir/fw-<variant>/, reused while
    its inputs are unchanged) and run each chosen test sample on its cohort's firmware through
    the harness loop: float and int8 host references, device with host features, device end
    to end from raw input. Records go to out_dir/records-<variant>/ and resume.

    This is what `edgekit eval --cohort-firmware` needs: summarize(run.records, ...,
    cohort_fields=run.cohort_fields) gives the eval section with per-firmware cohorts.
    cluster: an entered edgekit.harness.cluster.RayCluster: the device batches run there."""
    from edgekit import data, frontends, interpreters
    from edgekit.devices import kind_for
    from edgekit.harness import core
    from edgekit.harness.records import RecordStore
    from edgekit.harness.runner import DeviceJob, DeviceOpener

    from edgekit.convert import int8_model
    from edgekit.runtimes import backend_for

    if not backend_for(target).on_device_frontend:
        raise UserError(f"target {target.name}: runtime {target.runtime.name} has no on-device frontend; "
                        f"cohort firmware runs need an edgekit-micro target (e.g. cortex-m4, cortex-m7)")
    device_kind = kind_for(device)
    kind = device_kind.parse(device).kind
    say = progress or (lambda *a: None)
    skew_dir = Path(out_dir)
    tflite = int8_model(spec, target, progress=progress)
    tflite_sha = sha256_file(tflite)
    # The float path runs the weights loaded now, once: weights retrained while this runs
    # must not mix with an int8 model converted from the previous ones.
    float_scores = core.float_scorer(spec.weights_path)
    weights_sha = sha256_file(Path(spec.weights_path))
    if Path(spec.weights_path).stat().st_mtime > tflite.stat().st_mtime:
        raise UserError(f"{spec.weights_path}: changed after {tflite} was converted; run again "
                        f"(the int8 model is converted again from the new weights)")
    ds = data.load_dataset(spec)
    X_all, _, recs_all = data.split_arrays(spec, "test")
    missing = [r.id for r in chosen if r.split != "test"]
    if missing:
        raise UserError(f"sample {missing[0]}: not in the test split; the cohort runs evaluate test samples")
    pos = {r.id: i for i, r in enumerate(recs_all)}
    in_q, out_q = interpreters.io_quant(tflite)
    quant = core.OutputQuant(out_q.scale, out_q.zero_point, out_q.dtype)
    fe_quant = frontends.input_quant_of(tflite)

    by_variant: dict[str, list] = {}
    for r in chosen:
        by_variant.setdefault(cohort_firmware.variant_for(r.cohort), []).append(r)

    builds: dict[str, dict] = {}
    all_records: list[dict] = []
    parity_rows: list[dict] = []
    parity_parts: dict[tuple[str, str], list] = {}
    firmware_of: dict[tuple[str, str], set] = {}
    variant_of: dict[str, str] = {}
    resumed = new = 0
    records_paths: dict[str, Path] = {}
    fields = list(spec.cohort_fields)
    for vi, (variant, recs) in enumerate(sorted(by_variant.items())):
        user = cohort_firmware.frontends.get(variant)  # a user C frontend, else a generated variant
        fw = firmware_for_variant(spec, target, tflite, variant, skew_dir, kernels, progress, user)
        idx = np.array([pos[r.id] for r in recs], dtype=np.int64)
        X = X_all[idx]
        xq = in_q.quantize(X)
        local = {r.id: k for k, r in enumerate(recs)}
        samples = [core.EvalSample(r.id, int(r.label), dict(r.cohort)) for r in recs]

        opener = DeviceOpener(device, target, str(fw.elf))
        info = opener.info(cluster)
        info_d = asdict(info) if is_dataclass(info) else dict(vars(info))
        if str(info_d.get("preprocessing", "none")).lower() in ("", "none"):
            raise UserError(f"firmware {fw.elf}: has no on-device frontend (preprocessing: none); "
                            f"`edgekit skew` needs one to compare against the reference")
        builds[variant] = {"elf": str(fw.elf), "elf_sha256": sha256_file(fw.elf), "flash_bytes": fw.flash_bytes,
                           "ram_bytes": fw.ram_bytes, "how": "measured from link", "reused": fw.reused,
                           "device_preprocessing": info_d.get("preprocessing"), "samples": len(recs),
                           "description": user.describe() if user else frontends.get_variant(spec, variant).description,
                           "frontend": fw.frontend}

        def host_paths(pending, X=X, xq=xq, local=local):
            k = np.array([local[s.id] for s in pending], dtype=np.int64)
            say(f"host reference ({variant})", 0, len(pending))
            return core.host_parts(pending, X[k], xq[k], float_scores, tflite, quant)

        raw_payload = {r.id: frontends.raw_bytes(spec, data.load_raw(spec, r)) for r in recs}

        def jobs_for(s, xq=xq, local=local, raw_payload=raw_payload):
            return DeviceJob(s.id, {"device_features": ("features", xq[local[s.id]].tobytes()),
                                    "device_e2e": ("raw", raw_payload[s.id])})

        identity = {"model": spec.name, "target": target.name, "tflite_sha256": tflite_sha,
                    "elf_sha256": builds[variant]["elf_sha256"], "weights_sha256": weights_sha,
                    "data_hash": ds.data_hash, "device": kind,
                    "firmware_variant": variant}
        sessions = device_kind.sessions(jobs)
        records_paths[variant] = skew_dir / f"records-{variant}" / "records.jsonl"
        # A preloaded batch holds items of one size: sensors of other resolutions go in
        # batches of their own (one harness run per raw size, on the same record store).
        by_size: dict[int, list] = {}
        for smp in samples:
            by_size.setdefault(len(raw_payload[smp.id]), []).append(smp)
        with RecordStore(skew_dir / f"records-{variant}", identity) as store:
            for group in by_size.values():
                hres = core.run(group, store, host_paths, jobs_for, opener,
                                lambda path, res: core.device_part(res, quant), {}, sessions=sessions, cluster=cluster,
                                progress=lambda done, total: say(f"device ({variant})", done, total))
                resumed += hres.resumed
                new += hres.new
            wanted = {s.id for s in samples}
            recs_v = [r for r in store.records() if r["id"] in wanted]
        for r in recs_v:
            variant_of[r["id"]] = variant
            if len(cohort_firmware.variants) > 1:
                r["cohort"] = {**r["cohort"], FIRMWARE_FIELD: variant}
            for f in fields:
                k = stats.cohort_key(r, [f])
                if k is not None:
                    firmware_of.setdefault((f, k), set()).add(variant)
            firmware_of.setdefault(("all", "all"), set()).add(variant)
        all_records += recs_v
        builds[variant]["instructions"] = _frontend_share(recs_v)
        if user is not None:
            from edgekit.frontends.user_c import classify_device_failure

            fails = [classify_device_failure(r["paths"].get("device_e2e", {})) for r in recs_v]
            builds[variant]["device_frontend_failures"] = {k: fails.count(k) for k in sorted(set(fails) - {None})}

        if not parity:
            continue
        # Parity: the same C frontend sources built for the host, on the same raw inputs.
        say(f"parity ({variant})", vi, len(by_variant))
        raws = [data.load_raw(spec, r) for r in recs]
        cohorts = [{f: stats.cohort_key({"cohort": r.cohort}, [f]) for f in fields if f in r.cohort} for r in recs]
        if user is not None:
            from edgekit.frontends.user_c import build_host_frontend, user_parity

            with build_host_frontend(user, spec, fe_quant) as host:
                par, host_fails = user_parity(host, variant, raws, fe_quant, cohorts, [r.id for r in recs])
            builds[variant]["host_frontend_failures"] = {
                k: sum(1 for f in host_fails if f["reason"] == k) for k in sorted({f["reason"] for f in host_fails})}
            builds[variant]["host_frontend_failed_samples"] = host_fails[:20]
        else:
            par = frontends.parity(spec, variant, raws, fe_quant, cohorts=cohorts)
        parity_parts.setdefault(("all", "all"), []).append(par.overall)
        parity_parts.setdefault((FIRMWARE_FIELD, variant), []).append(par.overall)
        parity_rows.append({"firmware": variant, "field": "all", "value": "all", **asdict(par.overall)})
        for f, vals in par.per_cohort.items():
            for v, st in vals.items():
                parity_parts.setdefault((f, v), []).append(st)
                parity_rows.append({"firmware": variant, "field": f, "value": v, **asdict(st)})

    if len(cohort_firmware.variants) > 1:
        fields.append(FIRMWARE_FIELD)
        for v in by_variant:
            firmware_of.setdefault((FIRMWARE_FIELD, v), set()).add(v)
    return CohortFirmwareRun(records=all_records, cohort_fields=fields, builds=builds, variant_of=variant_of,
                             firmware_of=firmware_of, records_paths=records_paths, parity_rows=parity_rows,
                             parity_parts=parity_parts, resumed=resumed, new=new, tflite=tflite,
                             input_quant=fe_quant)


