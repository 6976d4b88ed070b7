import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edgekit.errors import UserError
from edgekit.monitor import store as st
from edgekit.monitor.ingest import ingest
from edgekit.monitor.telemetry import to_flat_dict

from tests.monitor.helpers import FakeSpec, record, write_jsonl

SPEC = FakeSpec()


def rows(n, device="dev-1"):
    return [record(device=device, day=d) for d in range(n)]


def count(path):
    with st.open_store(path, create=False) as s:
        return s.count()


def test_jsonl_csv_and_parquet_ingest_and_twice_adds_nothing(tmp_path):
    db = tmp_path / "m.duckdb"
    write_jsonl(tmp_path / "a.jsonl", rows(3, "dev-a"))
    flat = [to_flat_dict(r) for r in rows(2, "dev-b")]
    with open(tmp_path / "b.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(flat[0]))
        w.writeheader()
        w.writerows(flat)
    flat_lists = [to_flat_dict(r, lists_as_text=False) for r in rows(4, "dev-c")]
    pq.write_table(pa.table({k: [r[k] for r in flat_lists] for k in flat_lists[0]}), tmp_path / "c.parquet")
    files = [tmp_path / "a.jsonl", tmp_path / "b.csv", tmp_path / "c.parquet"]
    res = ingest(files, db, SPEC)
    assert res.added == 9 and res.total_rows == 9
    again = ingest(files, db, SPEC)
    assert again.added == 0 and all(f.skipped_file for f in again.files)
    # The same records in other bytes (another file) add nothing either.
    write_jsonl(tmp_path / "copy.jsonl", list(reversed(rows(3, "dev-a"))) + [record(device="dev-new")])
    res = ingest([tmp_path / "copy.jsonl"], db, SPEC)
    assert (res.added, res.duplicate) == (1, 3)
    with st.open_store(db, create=False) as s:
        assert s.con.execute("SELECT count(*) FROM labelled").fetchone()[0] == 10


def test_a_bad_row_is_named_by_file_and_line_and_nothing_of_that_file_is_written(tmp_path):
    db = tmp_path / "m.duckdb"
    write_jsonl(tmp_path / "good.jsonl", rows(2))
    bad = rows(3, "dev-2")
    bad[1]["feature_mean"] = [float("nan"), 0, 0]
    write_jsonl(tmp_path / "bad.jsonl", [json.dumps(bad[0]), json.dumps(bad[1]).replace("NaN", "NaN"), json.dumps(bad[2])])
    with pytest.raises(UserError, match=r"bad.jsonl: line 2: feature_mean\[0\].*--skip-bad"):
        ingest([tmp_path / "good.jsonl", tmp_path / "bad.jsonl"], db, SPEC)
    assert count(db) == 2  # the good file stayed, none of the bad one
    res = ingest([tmp_path / "bad.jsonl"], db, SPEC, skip_bad=True)
    assert (res.added, res.rejected) == (2, 1) and "line 2" in res.files[0].errors[0]


def test_hostile_lines_are_rejected_and_counted_and_the_store_survives(tmp_path):
    db = tmp_path / "m.duckdb"
    inj = "x'); DROP TABLE windows; --"
    lines = [json.dumps(record(cohort={"device_model": inj, "firmware": "v1"})),
             "{" * 5000 + "}" * 5000,                       # deep nesting
             "x" * 70000,                                   # over the line bound
             json.dumps(record(device="dev-2", class_hist=list(range(100000)))),
             "[1, 2, 3]", "not json", json.dumps(record(device="dev-3", inferences=-1))]
    write_jsonl(tmp_path / "h.jsonl", lines)
    res = ingest([tmp_path / "h.jsonl"], db, SPEC, skip_bad=True)
    assert (res.added, res.rejected) == (1, 6)
    with st.open_store(db, create=False) as s:
        got = s.con.execute("SELECT cohort['device_model'] FROM windows").fetchall()
        assert got == [(inj,)]


def test_an_interrupted_file_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    from edgekit.monitor import ingest as ing

    db = tmp_path / "m.duckdb"
    write_jsonl(tmp_path / "a.jsonl", rows(2))
    ingest([tmp_path / "a.jsonl"], db, SPEC)
    write_jsonl(tmp_path / "b.jsonl", rows(5, "dev-b"))
    monkeypatch.setattr(ing, "BATCH_ROWS", 2)   # rows reach the table before the kill
    real = ing.validate
    seen = []

    def killed(raw, **kw):
        seen.append(1)
        if len(seen) == 4:
            raise KeyboardInterrupt
        return real(raw, **kw)

    monkeypatch.setattr(ing, "validate", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest([tmp_path / "b.jsonl"], db, SPEC)
    assert count(db) == 2
    monkeypatch.setattr(ing, "validate", real)
    assert ingest([tmp_path / "b.jsonl"], db, SPEC).added == 5   # and the file was not marked ingested


def test_a_store_of_another_schema_version_or_model_is_refused(tmp_path):
    db = tmp_path / "m.duckdb"
    write_jsonl(tmp_path / "a.jsonl", rows(1))
    ingest([tmp_path / "a.jsonl"], db, SPEC)
    with st.open_store(db, create=False) as s:
        s.con.execute("UPDATE meta SET value = ? WHERE key = ?", ["99", "schema_version"])
    with pytest.raises(UserError, match="schema version 99"):
        ingest([tmp_path / "a.jsonl"], db, SPEC)
    other = tmp_path / "o.duckdb"
    import duckdb

    duckdb.connect(str(other)).execute("CREATE TABLE t (x INT)").close()
    with pytest.raises(UserError, match="not an edgekit telemetry store"):
        ingest([tmp_path / "a.jsonl"], other, SPEC)


def test_unknown_format_and_missing_file_are_user_errors(tmp_path):
    (tmp_path / "t.xml").write_text("<x/>")
    with pytest.raises(UserError, match="unknown telemetry format"):
        ingest([tmp_path / "t.xml"], tmp_path / "m.duckdb", SPEC)
    with pytest.raises(UserError, match="no such telemetry file"):
        ingest([tmp_path / "nope.jsonl"], tmp_path / "m.duckdb", SPEC)


def test_parquet_is_validated_in_bulk_with_the_same_rules_and_keys_as_jsonl(tmp_path):
    db = tmp_path / "m.duckdb"
    good = rows(5, "dev-p")
    bad = [record(device="dev-x", day=1, feature_mean=[float("nan"), 0.0, 0.0]),
           record(device="dev-y", day=1, class_hist=[9, 0, 0, 0]),
           record(device="dev-z", day=1, cohort={"device_model": "a" * 65, "firmware": "v1"})]
    offset = record(device="dev-o", day=2, window_start="2026-01-07T01:00:00+01:00")  # not Z: the row path takes it
    flat = [to_flat_dict(r, lists_as_text=False) for r in good + bad + [offset]]
    pq.write_table(pa.table({k: [r[k] for r in flat] for k in flat[0]}), tmp_path / "p.parquet")
    with pytest.raises(UserError, match=r"p.parquet: row 6: feature_mean\[0\]"):
        ingest([tmp_path / "p.parquet"], db, SPEC)
    res = ingest([tmp_path / "p.parquet"], db, SPEC, skip_bad=True)
    assert (res.added, res.rejected) == (6, 3)
    assert [e.split(": ")[1] for e in res.files[0].errors] == ["row 6", "row 7", "row 8"]
    write_jsonl(tmp_path / "same.jsonl", good + [offset])   # the same records: the same keys
    again = ingest([tmp_path / "same.jsonl"], db, SPEC)
    assert (again.added, again.duplicate) == (0, 6)
    with st.open_store(db, create=False) as s:
        assert s.con.execute("SELECT count(*) FROM labelled").fetchone()[0] == 6
