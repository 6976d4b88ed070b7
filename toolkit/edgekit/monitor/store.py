"""The telemetry store: an embedded DuckDB database (docs/ARCHITECTURE.md, monitor).

One table row per telemetry record, histograms as one column per bin (c0.., b0..) so that
fleet-wide aggregations are column sums; cohort fields in a MAP (their names are data).
Every value from a record reaches SQL as a bound parameter or an Arrow column, never as SQL
text: the only identifiers built are c<i>/b<i>/m<i>/v<i> from integers.

Idempotent: a file whose bytes were ingested before is skipped, and each record has a key
(SHA-256 of its canonical form) so a record seen in another file adds nothing. One
transaction per file: a killed ingest leaves the store as it was before that file.
Schema-versioned: table meta holds schema_version, the model and its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from edgekit.errors import UserError
from edgekit.monitor.summary import CONF_BINS

STORE_SCHEMA_VERSION = 1
STORE_NAME = "monitor.duckdb"


def _duckdb():
    try:
        import duckdb
    except ImportError:  # pragma: no cover - the monitor extra is pinned in requirements.lock
        raise UserError("edgekit monitor needs DuckDB: pip install 'edgekit[monitor]'") from None
    return duckdb


def class_cols(classes: int) -> list[str]:
    return [f"c{i}" for i in range(classes)]


def conf_cols() -> list[str]:
    return [f"b{i}" for i in range(CONF_BINS)]


def feature_cols(features: int) -> tuple[list[str], list[str]]:
    return [f"m{i}" for i in range(features)], [f"v{i}" for i in range(features)]


@dataclass(frozen=True)
class StoreInfo:
    path: Path
    model: str
    classes: int
    features: int
    schema_version: int


class TelemetryStore:
    """An open store. Use as a context manager; `open_store` creates or checks it."""

    def __init__(self, con, info: StoreInfo):
        self.con = con
        self.info = info

    def __enter__(self) -> "TelemetryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # ------------------------------------------------------------------ queries
    def count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM windows").fetchone()[0])

    def cohort_fields(self) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT unnest(map_keys(cohort)) AS k FROM windows ORDER BY k").fetchall()
        return [r[0] for r in rows]

    def file_seen(self, sha: str) -> bool:
        return self.con.execute("SELECT 1 FROM files WHERE file_sha256 = ?", [sha]).fetchone() is not None


def _create(con, model: str, classes: int, features: int) -> None:
    ms, vs = feature_cols(features)
    cols = (["record_key VARCHAR", "device_id VARCHAR", "window_start TIMESTAMPTZ", "window_end TIMESTAMPTZ",
             "cohort MAP(VARCHAR, VARCHAR)", "inferences INTEGER"]
            + [f"{c} INTEGER" for c in class_cols(classes) + conf_cols()]
            + [f"{c} DOUBLE" for c in ms + vs] + ["source VARCHAR"])
    con.execute("BEGIN")
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute(f"CREATE TABLE windows ({', '.join(cols)})")
    con.execute("CREATE TABLE labelled (record_key VARCHAR, label INTEGER, pred INTEGER)")
    con.execute("CREATE TABLE files (file_sha256 VARCHAR PRIMARY KEY, path VARCHAR, ingested_at TIMESTAMPTZ, "
                "rows_added BIGINT, rows_duplicate BIGINT, rows_rejected BIGINT)")
    con.executemany("INSERT INTO meta VALUES (?, ?)",
                    [["schema_version", str(STORE_SCHEMA_VERSION)], ["model", model],
                     ["classes", str(classes)], ["features", str(features)]])
    con.execute("COMMIT")


def open_store(path: Path, model: Optional[str] = None, classes: Optional[int] = None,
               features: Optional[int] = None, create: bool = True, read_only: bool = False) -> TelemetryStore:
    """Open (or create, given the model and its shape) the store at `path`. A store of
    another schema version or model is refused with one line."""
    duckdb = _duckdb()
    path = Path(path)
    exists = path.is_file()
    if not exists and not create:
        raise UserError(f"{path}: no telemetry store; run `edgekit monitor ingest FILES` or "
                        "`edgekit monitor simulate` first (or pass --store)")
    if not exists:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only and exists)
    except duckdb.Error as exc:
        raise UserError(f"{path}: cannot open as a DuckDB telemetry store ({str(exc).splitlines()[0]}); "
                        "is another edgekit writing it, or is it another kind of file?") from None
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" not in tables:
            if tables:
                raise UserError(f"{path}: a DuckDB database but not an edgekit telemetry store; pass another --store")
            if model is None or classes is None or features is None:
                raise UserError(f"{path}: no telemetry store; ingest or simulate first")
            _create(con, model, classes, features)
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        version = int(meta.get("schema_version", "0"))
        if version != STORE_SCHEMA_VERSION:
            raise UserError(f"{path}: store schema version {version}, this edgekit reads version "
                            f"{STORE_SCHEMA_VERSION}; ingest into a new --store")
        if model is not None and meta["model"] != model:
            raise UserError(f"{path}: holds telemetry of model {meta['model']!r}, not {model!r}; pass another --store")
        info = StoreInfo(path, meta["model"], int(meta["classes"]), int(meta["features"]), version)
        if classes is not None and (info.classes, info.features) != (classes, features):
            raise UserError(f"{path}: made for {info.classes} classes and {info.features} features, the model "
                            f"has {classes} and {features}; pass another --store")
    except BaseException:
        con.close()
        raise
    return TelemetryStore(con, info)


def default_store_path(target: str, model: str) -> Path:
    from edgekit import resources

    return resources.stage_dir(target, model) / STORE_NAME


def record_keys(table, info: StoreInfo):
    """The record key of each row of an incoming table: BLAKE2b (128 bits) of the record's
    canonical bytes (device id, sorted cohort pairs, window, counts, feature sketches), the
    same whatever file format carried it."""
    import hashlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    ms, vs = feature_cols(info.features)
    ints = ["inferences"] + class_cols(info.classes) + conf_cols()
    num = np.column_stack(
        [pc.cast(table[c], pa.int64()).to_numpy() for c in ("window_start", "window_end")]
        + [table[c].to_numpy().astype(np.int64) for c in ints]
        + [table[c].to_numpy().astype(np.float64).view(np.int64) for c in ms + vs])
    num = np.ascontiguousarray(num)
    coh = table["cohort"].combine_chunks()
    off = coh.offsets.to_numpy()
    keys = coh.keys.to_numpy(zero_copy_only=False)
    items = coh.items.to_numpy(zero_copy_only=False)
    dev = table["device_id"].to_numpy(zero_copy_only=False)
    out = []
    for i in range(n):
        h = hashlib.blake2b(num[i].tobytes(), digest_size=16)
        h.update(dev[i].encode())
        for j in range(off[i], off[i + 1]):
            h.update(b"\x00" + keys[j].encode() + b"\x01" + items[j].encode())
        out.append(h.hexdigest())
    return pa.array(out, pa.string())


def insert_batch(store: TelemetryStore, table, labelled, window_range: Sequence) -> tuple[int, int]:
    """Insert an Arrow table of new rows (rid + the windows columns but the key) and its
    labelled rows (by rid), skipping record keys already in the store or repeated in the
    table; inside the caller's transaction. -> (added, duplicate)."""
    import numpy as np
    import pyarrow as pa

    con = store.con
    keys = record_keys(table, store.info)
    _, first = np.unique(keys.to_numpy(zero_copy_only=False), return_index=True)
    first.sort()
    keyed = table.add_column(0, "record_key", keys).take(pa.array(first))
    con.register("incoming", keyed)
    con.register("incoming_labelled", labelled)
    try:
        before = store.count()
        # The time range lets DuckDB's zone maps skip most of a large store in the anti-join.
        con.execute("CREATE OR REPLACE TEMP TABLE fresh AS SELECT * FROM incoming i WHERE NOT EXISTS ("
                    "SELECT 1 FROM windows w WHERE w.record_key = i.record_key "
                    "AND w.window_start BETWEEN ? AND ?)", list(window_range))
        con.execute("INSERT INTO windows SELECT * EXCLUDE (rid) FROM fresh")
        con.execute("INSERT INTO labelled SELECT f.record_key, l.label, l.pred FROM incoming_labelled l "
                    "JOIN fresh f USING (rid)")
        added = store.count() - before
        con.execute("DROP TABLE fresh")
    finally:
        con.unregister("incoming")
        con.unregister("incoming_labelled")
    return added, len(table) - added
