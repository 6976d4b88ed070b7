"""`edgekit monitor ingest`: telemetry files (JSONL, CSV, Parquet) into the store.

A bad row is named by file and line (exit 2), or with skip_bad rejected and counted; rows
before it in that file are not written either (one transaction per file), files before it
stay ingested. See docs/ARCHITECTURE.md (monitor) and edgekit.monitor.telemetry.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional, Sequence

from edgekit.errors import UserError
from edgekit.fileio import sha256_file
from edgekit.monitor import store as st
from edgekit.monitor.telemetry import MAX_LINE_BYTES, RecordError, TelemetryRecord, validate

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
MAX_REPORTED_ERRORS = 20
BATCH_ROWS = 200_000


@dataclass
class FileIngest:
    path: str
    format: str
    added: int = 0
    duplicate: int = 0
    rejected: int = 0
    skipped_file: bool = False       # the same bytes were ingested before
    errors: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    store: str
    files: list[FileIngest]
    total_rows: int

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def duplicate(self) -> int:
        return sum(f.duplicate for f in self.files)


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"{path}: unknown telemetry format '{path.suffix}'; use .jsonl, .csv or .parquet")
    return fmt


def _rows(path: Path, fmt: str) -> Iterator[tuple[str, object]]:
    """(where, parsed row or RecordError) for each row; `where` is 'line N' or 'row N'."""
    if fmt == "jsonl":
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                if len(line) > MAX_LINE_BYTES:
                    yield f"line {n}", RecordError(f"{len(line)} bytes, a record is at most {MAX_LINE_BYTES}")
                    continue
                try:
                    yield f"line {n}", json.loads(line)
                except (ValueError, RecursionError) as exc:
                    yield f"line {n}", RecordError(f"not a JSON object ({str(exc)[:60]})")
    else:  # csv (Parquet is read column-wise: _parquet_rows)
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            try:
                header = next(reader)
            except StopIteration:
                return
            for row in reader:
                where = f"line {reader.line_num}"
                if len(row) != len(header):
                    yield where, RecordError(f"{len(row)} columns, the header has {len(header)}")
                elif sum(len(c) for c in row) > MAX_LINE_BYTES:
                    yield where, RecordError(f"row longer than {MAX_LINE_BYTES} bytes")
                else:
                    yield where, dict(zip(header, row))


class _Columns:
    """Validated records gathered column by column, for one Arrow table per batch."""

    def __init__(self, info: st.StoreInfo, source: str):
        self.info, self.source = info, source
        self.reset()

    def reset(self) -> None:
        self.device, self.start, self.end, self.cohort, self.n = [], [], [], [], []
        self.hist = [[] for _ in range(self.info.classes + len(st.conf_cols()) + 2 * self.info.features)]
        self.lab_rid, self.lab_label, self.lab_pred = [], [], []
        self.tables_done: list = []   # column batches validated in bulk (Parquet)

    def __len__(self) -> int:
        return len(self.device) + sum(t[0].num_rows for t in self.tables_done)

    def add(self, rec: TelemetryRecord) -> None:
        k = len(self.device)
        self.device.append(rec.device_id)
        self.start.append(rec.window_start)
        self.end.append(rec.window_end)
        self.cohort.append(sorted(rec.cohort.items()))  # sorted: the record key must not depend on order
        self.n.append(rec.inferences)
        for col, v in zip(self.hist, rec.class_hist + rec.conf_hist + rec.feature_mean + rec.feature_var):
            col.append(v)
        for label, pred in rec.labelled:
            self.lab_rid.append(k)
            self.lab_label.append(label)
            self.lab_pred.append(pred)

    def tables(self) -> list:
        """[(windows table, labelled table, (first, last) window start)] of everything gathered."""
        import pyarrow as pa

        out = list(self.tables_done)
        if self.device:
            info = self.info
            ms, vs = st.feature_cols(info.features)
            names = st.class_cols(info.classes) + st.conf_cols() + ms + vs
            ints = info.classes + len(st.conf_cols())
            ts = pa.timestamp("us", tz="UTC")
            cols = {"rid": pa.array(range(len(self.device)), pa.int64()),
                    "device_id": pa.array(self.device, pa.string()),
                    "window_start": pa.array(self.start, ts), "window_end": pa.array(self.end, ts),
                    "cohort": pa.array(self.cohort, pa.map_(pa.string(), pa.string())),
                    "inferences": pa.array(self.n, pa.int32())}
            for i, (name, col) in enumerate(zip(names, self.hist)):
                cols[name] = pa.array(col, pa.int32() if i < ints else pa.float64())
            cols["source"] = pa.array([self.source] * len(self.device), pa.string())
            lab = pa.table({"rid": pa.array(self.lab_rid, pa.int64()),
                            "label": pa.array(self.lab_label, pa.int32()), "pred": pa.array(self.lab_pred, pa.int32())})
            out.append((pa.table(cols), lab, (min(self.start), max(self.start))))
        return out


def ingest_file(store: st.TelemetryStore, path: Path, skip_bad: bool = False) -> FileIngest:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such telemetry file")
    fmt = _format_of(path)
    res = FileIngest(str(path), fmt)
    sha = sha256_file(path)
    if store.file_seen(sha):
        res.skipped_file = True
        return res
    info = store.info
    cols = _Columns(info, path.name)
    con = store.con
    con.execute("BEGIN")
    try:
        for where, row in (_parquet_rows(path, cols, store, res) if fmt == "parquet" else _rows(path, fmt)):
            try:
                if isinstance(row, RecordError):
                    raise row
                cols.add(validate(row, model=info.model, classes=info.classes, features=info.features))
            except RecordError as exc:
                if not skip_bad:
                    raise UserError(f"{path}: {where}: {exc}; fix the record or pass --skip-bad "
                                    "(nothing of this file was written)") from None
                res.rejected += 1
                if len(res.errors) < MAX_REPORTED_ERRORS:
                    res.errors.append(f"{path}: {where}: {exc}")
            if len(cols) >= BATCH_ROWS:
                _flush(store, cols, res)
        if len(cols):
            _flush(store, cols, res)
        con.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
                    [sha, str(path), datetime.now(timezone.utc), res.added, res.duplicate, res.rejected])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return res


def _flush(store: st.TelemetryStore, cols: _Columns, res: FileIngest) -> None:
    for table, lab, rng in cols.tables():
        added, dup = st.insert_batch(store, table, lab, rng)
        res.added += added
        res.duplicate += dup
    cols.reset()


def _parquet_rows(path: Path, cols: _Columns, store: st.TelemetryStore, res: FileIngest):
    """Parquet: each batch is validated column-wise (edgekit.monitor.columnar); the rows it
    cannot vouch for go through the row validator, which names the problem."""
    import pyarrow.parquet as pq

    from edgekit.monitor.columnar import validate_batch

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise UserError(f"{path}: not a readable Parquet file ({str(exc)[:80]})") from None
    row0 = 0
    for batch in pf.iter_batches(batch_size=BATCH_ROWS):
        done = validate_batch(batch, cols.info, path.name)
        if done is None:
            rest = range(batch.num_rows)
        else:
            cols.tables_done.append(done.tables)
            rest = done.rejected
            if len(cols) >= BATCH_ROWS:
                _flush(store, cols, res)
        if len(rest):
            rows = batch.take(list(rest)).to_pylist()
            for i, row in zip(rest, rows):
                yield f"row {row0 + i + 1}", row
        row0 += batch.num_rows


def ingest(files: Sequence[Path], store_path: Path, model_spec, skip_bad: bool = False) -> IngestResult:
    """Ingest `files` into the store at `store_path` (created for `model_spec` if missing)."""
    classes, features = model_shape(model_spec)
    results = []
    with st.open_store(store_path, model_spec.name, classes, features) as store:
        for f in files:
            results.append(ingest_file(store, Path(f), skip_bad=skip_bad))
        total = store.count()
    return IngestResult(str(store_path), results, total)


def model_shape(model_spec) -> tuple[int, int]:
    """(classes, input features) of a model: the shape of its telemetry records."""
    from edgekit.monitor.summary import feature_layout

    return len(model_spec.labels), feature_layout(model_spec.preprocessing.output_shape)[0]

