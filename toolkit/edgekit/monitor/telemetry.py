"""The telemetry record: one device's summary of one time window, as it arrives from the field.

Field telemetry is untrusted input, so the schema is strict and every size is bounded; a
record that breaks it is rejected with one line naming what is wrong (docs/ARCHITECTURE.md,
monitor). The record, version 1 (JSONL form; CSV and Parquet use the flat form below):

    {"schema": 1,
     "device_id": "kws-dm-a-00042",              # [A-Za-z0-9._:-], 1..64 characters
     "model": "kws",                              # the model the device runs
     "window_start": "2026-01-05T00:00:00Z",      # ISO 8601 with a time zone
     "window_end":   "2026-01-06T00:00:00Z",      # after the start, at most 31 days later
     "cohort": {"device_model": "dm-a", "firmware": "v1", "app_version": "1.4.0",
                "region": "eu-west"},             # device_model and firmware required;
                                                  # <= 12 fields, values text <= 64 chars;
                                                  # optional firmware_variant: the edgekit
                                                  # firmware variant the firmware runs (named
                                                  # by the monitor's confirm command)
     "inferences": 48,                            # 0..10,000,000
     "class_hist": [...],                         # one count per model class, sums to inferences
     "conf_hist": [...],                          # 16 counts (edgekit.monitor.summary), same sum
     "feature_mean": [...], "feature_var": [...], # per input feature, int8 input steps, finite
     "labelled": [{"label": 3, "pred": 3}]}       # optional, <= 32 labelled samples

Flat form (CSV header / Parquet columns): schema, device_id, model, window_start, window_end,
cohort.<field> per cohort field, inferences, class_hist, conf_hist, feature_mean,
feature_var (lists: space-separated numbers in CSV, lists or such strings in Parquet) and
labelled ("label:pred" pairs separated by spaces; may be empty).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from edgekit.monitor.summary import CONF_BINS, MAX_CLASSES, MAX_FEATURES

SCHEMA_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
MAX_INFERENCES = 10_000_000
MAX_COHORT_FIELDS = 12
MAX_TEXT = 64
MAX_LABELLED = 32
MAX_WINDOW = timedelta(days=31)
REQUIRED_COHORT = ("device_model", "firmware")
FIELDS = ("schema", "device_id", "model", "window_start", "window_end", "cohort", "inferences",
          "class_hist", "conf_hist", "feature_mean", "feature_var", "labelled")

_DEVICE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_COHORT_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MODEL = re.compile(r"[A-Za-z0-9._\-]{1,64}")


class RecordError(ValueError):
    """A telemetry record breaks the schema: the message names the field and the problem."""


@dataclass(frozen=True)
class TelemetryRecord:
    device_id: str
    model: str
    window_start: datetime
    window_end: datetime
    cohort: dict[str, str]
    inferences: int
    class_hist: tuple[int, ...]
    conf_hist: tuple[int, ...]
    feature_mean: tuple[float, ...]
    feature_var: tuple[float, ...]
    labelled: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict:
        return {"schema": SCHEMA_VERSION, "device_id": self.device_id, "model": self.model,
                "window_start": format_time(self.window_start), "window_end": format_time(self.window_end),
                "cohort": dict(self.cohort), "inferences": self.inferences,
                "class_hist": list(self.class_hist), "conf_hist": list(self.conf_hist),
                "feature_mean": list(self.feature_mean), "feature_var": list(self.feature_var),
                "labelled": [{"label": a, "pred": b} for a, b in self.labelled]}


def format_time(t: datetime) -> str:
    """The record's time form: ISO 8601 in UTC with Z."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(v: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer() and math.isfinite(v):
            v = int(v)  # Parquet/CSV readers may widen integers
        else:
            raise RecordError(f"{name}: {type(v).__name__} {str(v)[:20]!r}, want an integer")
    if not lo <= v <= hi:
        raise RecordError(f"{name}: {v} out of range [{lo}, {hi}]")
    return v


def _text(v: Any, name: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(v, str):
        raise RecordError(f"{name}: {type(v).__name__}, want text")
    if not 0 < len(v) <= limit:
        raise RecordError(f"{name}: {len(v)} characters, want 1..{limit}")
    if not v.isprintable():
        raise RecordError(f"{name}: control characters are not allowed")
    return v


def _time(v: Any, name: str) -> datetime:
    if not isinstance(v, str) or len(v) > 40:
        raise RecordError(f"{name}: want an ISO 8601 time such as 2026-01-05T00:00:00Z")
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00") if v.endswith("Z") else v)
    except ValueError:
        raise RecordError(f"{name}: {v[:40]!r} is not an ISO 8601 time (e.g. 2026-01-05T00:00:00Z)") from None
    if t.tzinfo is None:
        raise RecordError(f"{name}: {v!r} has no time zone; add Z or +00:00")
    if not 2000 <= t.year <= 2100:
        raise RecordError(f"{name}: year {t.year} out of range [2000, 2100]")
    return t.astimezone(timezone.utc)


def _counts(v: Any, name: str, length: int, total: int) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)):
        raise RecordError(f"{name}: {type(v).__name__}, want a list of {length} counts")
    if len(v) != length:  # checked before looking inside: a huge array costs nothing
        raise RecordError(f"{name}: {len(v)} entries, want {length}")
    out = tuple(_int(c, f"{name}[{i}]", 0, MAX_INFERENCES) for i, c in enumerate(v))
    if sum(out) != total:
        raise RecordError(f"{name}: counts sum to {sum(out)}, want inferences = {total}")
    return out


def _reals(v: Any, name: str, length: int, lo: float, hi: float) -> tuple[float, ...]:
    if not isinstance(v, (list, tuple)):
        raise RecordError(f"{name}: {type(v).__name__}, want a list of {length} numbers")
    if len(v) != length:
        raise RecordError(f"{name}: {len(v)} entries, want {length}")
    out = []
    for i, x in enumerate(v):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise RecordError(f"{name}[{i}]: {type(x).__name__}, want a number")
        x = float(x)
        if not math.isfinite(x) or not lo <= x <= hi:
            raise RecordError(f"{name}[{i}]: {x} is not a finite number in [{lo}, {hi}]")
        out.append(x)
    return tuple(out)


def validate(raw: Any, *, model: str, classes: int, features: int) -> TelemetryRecord:
    """The record in `raw` (a parsed JSON object or a flat row), checked against the schema
    and the model's shape; RecordError names the first problem."""
    if not isinstance(raw, Mapping):
        raise RecordError(f"record: {type(raw).__name__}, want an object")
    if "cohort" not in raw:
        raw = from_flat(raw)
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise RecordError(f"{str(unknown[0])[:40]!r}: unknown field (known: {', '.join(FIELDS)})")
    if raw.get("schema") != SCHEMA_VERSION:
        raise RecordError(f"schema: {str(raw.get('schema'))[:20]!r}, this edgekit reads version {SCHEMA_VERSION}")
    device = raw.get("device_id")
    if not isinstance(device, str) or not _DEVICE_ID.fullmatch(device):
        raise RecordError("device_id: want 1..64 characters of A-Z a-z 0-9 . _ : -")
    rec_model = raw.get("model")
    if not isinstance(rec_model, str) or not _MODEL.fullmatch(rec_model):
        raise RecordError("model: want the model name, 1..64 characters of A-Z a-z 0-9 . _ -")
    if rec_model != model:
        raise RecordError(f"model: {rec_model!r}, this store holds telemetry of model {model!r}")
    start, end = _time(raw.get("window_start"), "window_start"), _time(raw.get("window_end"), "window_end")
    if not start < end <= start + MAX_WINDOW:
        raise RecordError("window_end: must be after window_start and at most 31 days later")
    cohort = raw.get("cohort")
    if not isinstance(cohort, Mapping):
        raise RecordError("cohort: want an object of field: value")
    if len(cohort) > MAX_COHORT_FIELDS:
        raise RecordError(f"cohort: {len(cohort)} fields, at most {MAX_COHORT_FIELDS}")
    coh = {}
    for k, v in cohort.items():
        if not isinstance(k, str) or not _COHORT_KEY.fullmatch(k):
            raise RecordError(f"cohort: field name {str(k)[:40]!r} must be lower_snake_case, <= 32 characters")
        coh[k] = _text(v, f"cohort.{k}")
    for k in REQUIRED_COHORT:
        if k not in coh:
            raise RecordError(f"cohort.{k}: missing (required: {', '.join(REQUIRED_COHORT)})")
    n = _int(raw.get("inferences"), "inferences", 0, MAX_INFERENCES)
    labelled_raw = raw.get("labelled") or []
    if not isinstance(labelled_raw, (list, tuple)) or len(labelled_raw) > MAX_LABELLED:
        raise RecordError(f"labelled: want a list of at most {MAX_LABELLED} {{label, pred}} objects")
    labelled = []
    for i, item in enumerate(labelled_raw):
        if not isinstance(item, Mapping) or set(item) != {"label", "pred"}:
            raise RecordError(f"labelled[{i}]: want {{\"label\": int, \"pred\": int}}")
        labelled.append((_int(item["label"], f"labelled[{i}].label", 0, classes - 1),
                         _int(item["pred"], f"labelled[{i}].pred", 0, classes - 1)))
    return TelemetryRecord(
        device_id=device, model=rec_model, window_start=start, window_end=end, cohort=coh, inferences=n,
        class_hist=_counts(raw.get("class_hist"), "class_hist", classes, n),
        conf_hist=_counts(raw.get("conf_hist"), "conf_hist", CONF_BINS, n),
        feature_mean=_reals(raw.get("feature_mean"), "feature_mean", features, -128.0, 127.0),
        feature_var=_reals(raw.get("feature_var"), "feature_var", features, 0.0, 65536.0),
        labelled=tuple(labelled))


def check_shape(classes: int, features: int) -> None:
    if not 1 <= classes <= MAX_CLASSES or not 1 <= features <= MAX_FEATURES:
        raise ValueError(f"model shape ({classes} classes, {features} features) outside the summary's bounds")


# ----------------------------------------------------------------------------- flat form

_LIST_FIELDS = ("class_hist", "conf_hist", "feature_mean", "feature_var")


def _number(tok: str, name: str):
    try:
        return int(tok)
    except ValueError:
        try:
            return float(tok)
        except ValueError:
            raise RecordError(f"{name}: {tok[:20]!r} is not a number") from None


def from_flat(row: Mapping) -> dict:
    """A flat CSV/Parquet row -> the nested record form (not yet validated)."""
    out: dict = {"cohort": {}}
    for k, v in row.items():
        if not isinstance(k, str):
            raise RecordError(f"column {str(k)[:40]!r}: not a column name")
        if k.startswith("cohort."):
            if v is not None and v != "":
                out["cohort"][k[len("cohort."):]] = v
        elif k in _LIST_FIELDS and isinstance(v, str):
            toks = v.split()
            if len(toks) > 4 * MAX_CLASSES:
                raise RecordError(f"{k}: {len(toks)} entries, far more than the model has")
            out[k] = [_number(t, k) for t in toks]
        elif k == "labelled" and (v is None or isinstance(v, str)):
            pairs = (v or "").split()
            if len(pairs) > MAX_LABELLED:
                raise RecordError(f"labelled: {len(pairs)} samples, at most {MAX_LABELLED}")
            items = []
            for p in pairs:
                a, sep, b = p.partition(":")
                if not sep:
                    raise RecordError(f"labelled: {p[:20]!r} is not label:pred")
                items.append({"label": _number(a, "labelled"), "pred": _number(b, "labelled")})
            out[k] = items
        elif k in ("schema", "inferences") and isinstance(v, str):
            out[k] = _number(v, k) if v.strip() else v
        elif isinstance(v, (list, tuple)) or not hasattr(v, "tolist"):
            out[k] = v
        else:
            out[k] = v.tolist()  # numpy scalars/arrays from Parquet
    return out


def to_flat_dict(j: Mapping, lists_as_text: bool = True) -> dict:
    """The flat form (CSV/Parquet) of a record in its JSON form."""
    flat = {k: j[k] for k in ("schema", "device_id", "model", "window_start", "window_end")}
    flat.update({f"cohort.{k}": v for k, v in j["cohort"].items()})
    flat["inferences"] = j["inferences"]
    for k in _LIST_FIELDS:
        flat[k] = " ".join(repr(x) if isinstance(x, float) else str(x) for x in j[k]) if lists_as_text else list(j[k])
    flat["labelled"] = " ".join(f"{d['label']}:{d['pred']}" for d in j.get("labelled") or [])
    return flat


def parse_time(v: str, name: str) -> datetime:
    """A user-given time or date (--since): ISO 8601; a bare date means 00:00 UTC."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v or ""):
        v = v + "T00:00:00Z"
    return _time(v, name)

