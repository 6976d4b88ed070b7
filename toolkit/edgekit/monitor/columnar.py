"""Telemetry validated a column at a time (Parquet batches), for ingest at fleet scale.

The same rules as edgekit.monitor.telemetry.validate, vectorised. A row this validator
cannot vouch for (any rule broken, or a form it does not handle, such as a time with an
offset instead of Z) is handed back by index, and the row validator either accepts it or
names the problem; so the bulk path never accepts what the row path would reject.
docs/ARCHITECTURE.md, monitor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from edgekit.monitor import store as st
from edgekit.monitor.summary import CONF_BINS
from edgekit.monitor.telemetry import (MAX_COHORT_FIELDS, MAX_INFERENCES, MAX_LABELLED, MAX_TEXT, MAX_WINDOW,
                                       REQUIRED_COHORT, SCHEMA_VERSION)

_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SCALARS = ("schema", "device_id", "model", "window_start", "window_end", "inferences")
_LISTS = ("class_hist", "conf_hist", "feature_mean", "feature_var")
_LO, _HI = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2101, 1, 1, tzinfo=timezone.utc)


@dataclass
class BatchResult:
    tables: tuple            # (windows table, labelled table, (first, last) start) of the accepted rows
    rejected: np.ndarray     # row indices left to the row validator


def _fixed_list(col, length: int, n: int):
    """(values [n, length] float64, ok [n]) of a list column whose rows must hold `length` numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not pa.types.is_list(col.type) and not pa.types.is_large_list(col.type):
        return None, np.zeros(n, bool)
    lens = pc.fill_null(pc.list_value_length(col), -1).to_numpy(zero_copy_only=False)
    ok = lens == length
    vals = np.zeros((n, length))
    if ok.any():
        sel = col.filter(pa.array(ok))
        flat = pc.list_flatten(sel)
        if not (pa.types.is_integer(flat.type) or pa.types.is_floating(flat.type)) or flat.null_count:
            return None, np.zeros(n, bool)
        vals[ok] = flat.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, length)
    return vals, ok


def validate_batch(batch, info: st.StoreInfo, source: str):
    """BatchResult for a pyarrow RecordBatch in the flat form, or None when its columns are
    not that form at all (then every row goes to the row validator)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = batch.schema.names
    cohort_cols = sorted(c for c in names if c.startswith("cohort."))
    known = set(_SCALARS) | set(_LISTS) | {"labelled"}
    if set(names) - known - set(cohort_cols) or not set(_SCALARS) | set(_LISTS) <= set(names):
        return None
    if any(not _KEY.fullmatch(c[len("cohort."):]) for c in cohort_cols) or not all(
            f"cohort.{k}" in cohort_cols for k in REQUIRED_COHORT):
        return None
    n = batch.num_rows
    col = {c: batch.column(c) for c in names}
    for c in ("device_id", "model", "window_start", "window_end", *cohort_cols):
        if not pa.types.is_string(col[c].type) and not pa.types.is_large_string(col[c].type):
            return None
    if not pa.types.is_integer(col["schema"].type) or not pa.types.is_integer(col["inferences"].type):
        return None

    def arr(x, fill):
        return pc.fill_null(x, fill).to_numpy(zero_copy_only=False)

    ok = arr(pc.equal(col["schema"], SCHEMA_VERSION), False).astype(bool)
    ok &= arr(pc.match_substring_regex(col["device_id"], r"^[A-Za-z0-9._:\-]{1,64}$"), False).astype(bool)
    ok &= arr(pc.equal(col["model"], info.model), False).astype(bool)
    ts = {}
    for c in ("window_start", "window_end"):
        t = pc.strptime(col[c], format="%Y-%m-%dT%H:%M:%SZ", unit="us", error_is_null=True)
        t = pc.assume_timezone(t, "UTC") if t.type.tz is None else t
        ok &= ~arr(pc.is_null(t), True).astype(bool)
        ts[c] = t
    start = arr(pc.cast(ts["window_start"], pa.int64()), 0)
    end = arr(pc.cast(ts["window_end"], pa.int64()), 0)
    lo, hi = int(_LO.timestamp() * 1e6), int(_HI.timestamp() * 1e6)
    ok &= (start < end) & (end - start <= int(MAX_WINDOW.total_seconds() * 1e6))
    ok &= (start >= lo) & (start < hi) & (end >= lo) & (end < hi)
    present = np.zeros((n, len(cohort_cols)), bool)
    values = []
    for j, c in enumerate(cohort_cols):
        v = col[c]
        has = ~arr(pc.is_null(v), True).astype(bool)
        empty = arr(pc.equal(v, ""), False).astype(bool)
        has &= ~empty        # the flat form: an empty cell is an absent field
        length = arr(pc.utf8_length(v), 0)
        printable = arr(pc.utf8_is_printable(v), True).astype(bool)
        ok &= ~has | ((length <= MAX_TEXT) & printable)
        present[:, j] = has
        values.append(v.to_numpy(zero_copy_only=False))
    ok &= present.sum(axis=1) <= MAX_COHORT_FIELDS
    for k in REQUIRED_COHORT:
        ok &= present[:, cohort_cols.index(f"cohort.{k}")]
    inf = arr(col["inferences"], -1).astype(np.int64)
    ok &= (inf >= 0) & (inf <= MAX_INFERENCES)
    ch, ok_c = _fixed_list(col["class_hist"], info.classes, n)
    cb, ok_b = _fixed_list(col["conf_hist"], CONF_BINS, n)
    fm, ok_m = _fixed_list(col["feature_mean"], info.features, n)
    fv, ok_v = _fixed_list(col["feature_var"], info.features, n)
    if ch is None or cb is None or fm is None or fv is None:
        return None
    ok &= ok_c & ok_b & ok_m & ok_v
    for h in (ch, cb):
        ok &= (h >= 0).all(axis=1) & (h <= MAX_INFERENCES).all(axis=1) & (h == np.round(h)).all(axis=1)
        ok &= h.sum(axis=1) == inf
    ok &= np.isfinite(fm).all(axis=1) & (fm >= -128).all(axis=1) & (fm <= 127).all(axis=1)
    ok &= np.isfinite(fv).all(axis=1) & (fv >= 0).all(axis=1) & (fv <= 65536).all(axis=1)
    lab_rows, lab_label, lab_pred = [], [], []
    if "labelled" in col:
        lab = col["labelled"]
        if not pa.types.is_string(lab.type) and not pa.types.is_large_string(lab.type):
            return None
        texts = lab.to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(ok):
            t = texts[i]
            if not t:
                continue
            pairs = t.split()
            good = len(pairs) <= MAX_LABELLED
            parsed = []
            for p_ in pairs if good else ():
                a, sep, b = p_.partition(":")
                if not (sep and a.isdigit() and b.isdigit() and int(a) < info.classes and int(b) < info.classes):
                    good = False
                    break
                parsed.append((int(a), int(b)))
            if not good:
                ok[i] = False
                continue
            for a, b in parsed:
                lab_rows.append(i)
                lab_label.append(a)
                lab_pred.append(b)
    keep = np.flatnonzero(ok)
    rid = np.full(n, -1, np.int64)
    rid[keep] = np.arange(len(keep))
    # The cohort MAP, pairs sorted by field name (as the row path sorts them).
    m = present[keep]
    offsets = np.r_[0, np.cumsum(m.sum(axis=1))].astype(np.int32)
    keys = np.broadcast_to(np.array([c[len("cohort."):] for c in cohort_cols], object), m.shape)[m]
    items = (np.stack(values, axis=1)[keep][m] if cohort_cols else np.array([], object))
    cohort = pa.MapArray.from_arrays(pa.array(offsets), pa.array(keys, pa.string()), pa.array(items, pa.string()))
    ms, vs = st.feature_cols(info.features)
    cols = {"rid": pa.array(np.arange(len(keep))), "device_id": col["device_id"].take(pa.array(keep)),
            "window_start": ts["window_start"].take(pa.array(keep)), "window_end": ts["window_end"].take(pa.array(keep)),
            "cohort": cohort, "inferences": pa.array(inf[keep].astype(np.int32))}
    for j, name in enumerate(st.class_cols(info.classes)):
        cols[name] = pa.array(ch[keep, j].astype(np.int32))
    for j, name in enumerate(st.conf_cols()):
        cols[name] = pa.array(cb[keep, j].astype(np.int32))
    for j, (a, b) in enumerate(zip(ms, vs)):
        cols[a] = pa.array(fm[keep, j])
    for j, b in enumerate(vs):
        cols[b] = pa.array(fv[keep, j])
    cols["source"] = pa.array([source] * len(keep), pa.string())
    ts_type = pa.timestamp("us", tz="UTC")
    cols["window_start"] = pc.cast(cols["window_start"], ts_type)
    cols["window_end"] = pc.cast(cols["window_end"], ts_type)
    labelled = pa.table({"rid": pa.array(rid[np.asarray(lab_rows, np.int64)] if lab_rows else np.zeros(0, np.int64)),
                         "label": pa.array(lab_label, pa.int32()), "pred": pa.array(lab_pred, pa.int32())})
    first = datetime.fromtimestamp(start[keep].min() / 1e6, timezone.utc) if len(keep) else _LO
    last = datetime.fromtimestamp(start[keep].max() / 1e6, timezone.utc) if len(keep) else _LO
    return BatchResult((pa.table(cols), labelled, (first, last)), np.flatnonzero(~ok))
