"""`edgekit monitor simulate`: telemetry of a simulated fleet (docs/ARCHITECTURE.md, monitor).

Every inference of every device-day is a test-split sample drawn for that device (its
hardware's dataset cohort, the world's mix that day), and its summary parts are those of
the real int8 model on that sample through the input path the device runs that day (its
firmware's C frontend on the host, or a degraded sensor), from edgekit.monitor.reference:
measured outputs, resampled. One record per device and day; files per week; a truth file
(true correct counts per record, which devices cannot report, and whether a scenario event
changed that device-day) for benchmarks and tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit import resources
from edgekit.errors import UserError
from edgekit.monitor import degradations
from edgekit.monitor.reference import ReferenceSet, reference_set
from edgekit.monitor.scenario import Degrade, Mix, Rollout, Scenario
from edgekit.monitor.summary import CONF_BINS
from edgekit.monitor.telemetry import SCHEMA_VERSION, to_flat_dict

FORMATS = ("jsonl", "csv", "parquet")


@dataclass
class SimulationResult:
    scenario: str
    directory: Path
    files: list[Path]
    truth: Path
    records: int
    inferences: int
    devices: int
    days: int
    paths: dict[str, float] = field(default_factory=dict)   # input path -> int8 accuracy on the test split


def _pick(rng, names: list[str], shares: list[float], n: int) -> np.ndarray:
    p = np.asarray(shares, np.float64)
    return rng.choice(len(names), size=n, p=p / p.sum())


def _mix_alpha(ev: Mix, day: int) -> float:
    span = ev.to_day - ev.from_day
    a = (day - ev.from_day) / span
    if ev.periodic and a > 1:
        a = max(0.0, 2.0 - a)
    return float(min(max(a, 0.0), 1.0))


class _Fleet:
    """Which device has which hardware, region, firmware and sensor wear, on each day."""

    def __init__(self, sc: Scenario, rng: np.random.Generator):
        n = sc.devices
        self.sc = sc
        self.dm_names = list(sc.device_models)
        self.dm = _pick(rng, self.dm_names, [d.share for d in sc.device_models.values()], n)
        self.region_names = list(sc.regions)
        self.region = _pick(rng, self.region_names, list(sc.regions.values()), n)
        self.ids = [f"{sc.model}-{self.dm_names[self.dm[i]]}-{i:05d}" for i in range(n)]
        self.switch: list[tuple[Rollout, np.ndarray]] = []     # day each device switches (inf: never)
        self.wear: list[tuple[Degrade, np.ndarray]] = []       # day each device starts wearing
        for ev in sc.events:
            if isinstance(ev, (Rollout, Degrade)):
                day = np.full(n, np.inf)
                members = np.flatnonzero(self.dm == self.dm_names.index(ev.device_model))
                chosen = rng.choice(members, size=int(round(ev.share * len(members))), replace=False) if len(members) else members
                if isinstance(ev, Rollout):
                    day[chosen] = ev.start_day + rng.integers(0, ev.over_days, size=len(chosen))
                    self.switch.append((ev, day))
                else:
                    day[chosen] = ev.start_day
                    self.wear.append((ev, day))

    def firmware(self, i: int, day: int) -> tuple[str, str]:
        """(firmware version, its variant) of device i on `day`."""
        fw, variant = self.sc.firmware, "default"
        for ev, when in self.switch:
            if day >= when[i]:
                fw, variant = ev.firmware, ev.variant
        return fw, variant

    def wear_path(self, i: int, day: int) -> Optional[tuple[Degrade, int]]:
        for ev, when in self.wear:
            if day >= when[i]:
                level = math.ceil(ev.levels * min(1.0, (day - when[i] + 1) / ev.over_days))
                return ev, max(1, level)
        return None


def _window_fields(ref: ReferenceSet, idx: np.ndarray, counts: np.ndarray) -> dict:
    """Per-record summary arrays for draws `idx` grouped by `counts` (records in order)."""
    r = len(counts)
    rid = np.repeat(np.arange(r), counts)
    ps = ref.samples
    ch = np.bincount(rid * ref.classes + ps.pred[idx], minlength=r * ref.classes).reshape(r, ref.classes)
    cb = np.bincount(rid * CONF_BINS + ps.conf_bin[idx], minlength=r * CONF_BINS).reshape(r, CONF_BINS)
    ends = np.cumsum(counts)
    starts = ends - counts

    def grouped(a: np.ndarray) -> np.ndarray:
        cs = np.vstack([np.zeros((1, a.shape[1]), a.dtype), np.cumsum(a[idx], axis=0)])
        return cs[ends] - cs[starts]

    fs, fq = grouped(ps.feature_sum), grouped(ps.feature_sumsq)
    n_el = np.maximum(counts, 1)[:, None] * ps.feature_elements
    mean = fs / n_el
    var = np.maximum(fq / n_el - mean ** 2, 0.0)
    cs_ok = np.r_[0, np.cumsum(ref.correct[idx].astype(np.int64))]
    correct = cs_ok[ends] - cs_ok[starts]
    return {"class_hist": ch, "conf_hist": cb, "mean": mean, "var": var, "correct": correct, "starts": starts}


def simulate(spec, target, sc: Scenario, devices: Optional[int] = None, days: Optional[int] = None,
             out_dir: Optional[Path] = None, fmt: str = "parquet", progress=None) -> SimulationResult:
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    sc = sc.model_copy(update={k: v for k, v in (("devices", devices), ("days", days)) if v is not None})
    if sc.devices < 1 or sc.days < 1:
        raise UserError("--devices and --days must be at least 1")
    out = Path(out_dir) if out_dir else resources.stage_dir(target.name, spec.name) / "monitor" / "sim" / sc.name
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(sc.seed)
    fleet = _Fleet(sc, rng)
    refs: dict[str, ReferenceSet] = {}

    def ref_for(path: str, deg: Optional[Degrade] = None, level: int = 0) -> ReferenceSet:
        if path not in refs:
            if deg is None:
                refs[path] = reference_set(spec, target, path, progress=progress)
            else:
                fn = degradations.make(deg.degradation, level / deg.levels)
                refs[path] = reference_set(spec, target, path, fn, f"{deg.degradation}:{level}/{deg.levels}", progress)
        return refs[path]

    base = ref_for("firmware:default")
    cand = {}
    for j, name in enumerate(fleet.dm_names):
        idx = base.indices(**sc.device_models[name].dataset)
        if not len(idx):
            raise UserError(f"scenario {sc.name}: device_models.{name}.dataset matches no test sample")
        cand[j] = idx
    mixes = [ev for ev in sc.events if isinstance(ev, Mix)]
    values = {ev.field: np.array([str(c.get(ev.field)) for c in base.cohorts]) for ev in mixes}
    rows: list[dict] = []
    truth: list[tuple[str, str, int, int, bool]] = []
    files: list[Path] = []
    total_inf = 0
    t0 = datetime.combine(sc.start, time(0), tzinfo=timezone.utc)
    for day in range(sc.days):
        start = t0 + timedelta(days=day)
        ws, we = start.strftime("%Y-%m-%dT%H:%M:%SZ"), (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        groups: dict[tuple, list[int]] = {}
        meta = {}
        for i in range(sc.devices):
            fw, variant = fleet.firmware(i, day)
            wear = fleet.wear_path(i, day)
            path = f"degraded:{wear[1]}" if wear else f"firmware:{variant}"
            # simulated devices run edgekit firmware and report the variant it was built with
            cohort = {"device_model": fleet.dm_names[fleet.dm[i]], "firmware": fw, "firmware_variant": variant,
                      "app_version": sc.app_version, "region": fleet.region_names[fleet.region[i]]}
            alphas = tuple(round(_mix_alpha(ev, day), 3) if all(cohort.get(k) == v for k, v in ev.where.items()) else 0.0
                           for ev in mixes)
            key = (int(fleet.dm[i]), path, alphas)
            groups.setdefault(key, []).append(i)
            meta[i] = (cohort, wear)
        for (dm, path, alphas), members in sorted(groups.items(), key=lambda kv: kv[1][0]):
            wear = meta[members[0]][1]
            ref = ref_for(path, *(wear if wear else (None, 0)))
            c = cand[dm]
            w = np.ones(len(c))
            for ev, a in zip(mixes, alphas):
                if a:
                    vw = np.array([ev.weights.get(v, 1.0) for v in values[ev.field][c]])
                    w *= 1.0 + a * (vw - 1.0)
            if w.sum() <= 0:
                raise UserError(f"scenario {sc.name}: a mix event leaves no sample with weight > 0")
            counts = rng.poisson(sc.inferences_per_day, size=len(members))
            idx = c[rng.choice(len(c), size=int(counts.sum()), p=w / w.sum())]
            f = _window_fields(ref, idx, counts)
            labelled_on = rng.random(len(members)) < sc.labelled_share
            for k, i in enumerate(members):
                cohort = dict(meta[i][0])
                for fld in sc.report_dataset_fields:
                    cohort[fld] = str(sc.device_models[cohort["device_model"]].dataset.get(fld, "unknown"))
                n = int(counts[k])
                lab = []
                if labelled_on[k] and sc.labelled_per_window:
                    s0 = int(f["starts"][k])
                    for j in idx[s0:s0 + min(n, sc.labelled_per_window)]:
                        lab.append({"label": int(ref.labels[j]), "pred": int(ref.samples.pred[j])})
                rows.append({"schema": SCHEMA_VERSION, "device_id": fleet.ids[i], "model": spec.name,
                             "window_start": ws, "window_end": we, "cohort": cohort, "inferences": n,
                             "class_hist": f["class_hist"][k].tolist(), "conf_hist": f["conf_hist"][k].tolist(),
                             "feature_mean": [round(float(x), 4) for x in f["mean"][k]],
                             "feature_var": [round(float(x), 4) for x in f["var"][k]], "labelled": lab})
                changed = path != "firmware:default" or any(alphas)
                truth.append((fleet.ids[i], ws, n, int(f["correct"][k]), changed))
                total_inf += n
        if (day + 1) % 7 == 0 or day == sc.days - 1:
            files.append(_write(out / f"telemetry-week{day // 7 + 1:02d}.{fmt}", rows, fmt))
            rows = []
        if progress:
            progress(f"simulate {sc.name}", day + 1, sc.days)
    truth_path = out / "truth.jsonl"
    with open(truth_path, "w") as fh:
        for dev, ws, n, ok, changed in truth:
            fh.write(json.dumps({"device_id": dev, "window_start": ws, "inferences": n, "correct": ok,
                                 "changed": changed}) + "\n")
    return SimulationResult(sc.name, out, files, truth_path, len(truth), total_inf, sc.devices, sc.days,
                            {p: float(r.correct.mean()) for p, r in sorted(refs.items())})


def _write(path: Path, rows: list[dict], fmt: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "jsonl":
        with open(tmp, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r, separators=(",", ":")) + "\n")
    else:
        flat = [to_flat_dict(r, lists_as_text=fmt == "csv") for r in rows]
        cols = sorted({k for r in flat for k in r}, key=lambda k: (not k.startswith(("schema", "device", "model", "window")), k))
        if fmt == "csv":
            import csv

            with open(tmp, "w", newline="") as fh:
                wr = csv.DictWriter(fh, fieldnames=cols, restval="")
                wr.writeheader()
                wr.writerows(flat)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({c: [r.get(c) for r in flat] for c in cols}), tmp)
    tmp.replace(path)
    return path
