"""records.jsonl: one JSON line per evaluated sample (docs/ARCHITECTURE.md, "Per-sample record"), appended as the
run goes, so a run killed at any point (kill -9 included) resumes where it stopped.

A line is only ever appended whole and flushed; a torn last line (the process died inside a
write) is cut off when the file is reopened, so the next append starts on a clean line.
A run.json next to it holds the identity of the run (model, firmware, data); records made
for another identity are moved aside, never mixed into a new report.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterator, Optional

from edgekit.reportstore import write_json_atomic

RECORDS_NAME = "records.jsonl"
RUN_NAME = "run.json"
RECORD_VERSION = 1


def read_records(path: Path) -> list[dict]:
    """All complete records in a records.jsonl (a torn last line is ignored)."""
    return list(_iter_complete(Path(path)))


def _iter_complete(path: Path) -> Iterator[dict]:
    if not path.is_file():
        return
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break  # torn last line
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                break  # a torn line that happened to end at a newline byte cannot occur; be safe


def _truncate_torn_tail(path: Path) -> int:
    """Cut the file after its last newline; returns the bytes removed."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        # Read backwards in chunks to the last newline.
        pos = size
        keep = 0
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            f.seek(pos)
            chunk = f.read(step)
            i = chunk.rfind(b"\n")
            if i >= 0:
                keep = pos + i + 1
                break
        if keep < size:
            f.truncate(keep)
        return size - keep


class RecordStore:
    """Append-only per-sample records for one run identity."""

    def __init__(self, directory: Path, identity: dict):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / RECORDS_NAME
        self.run_path = self.directory / RUN_NAME
        self.identity = {"record_version": RECORD_VERSION, **identity}
        self.moved_aside: Optional[Path] = None
        self._adopt_or_reset()
        self.torn_bytes = _truncate_torn_tail(self.path)
        self._done = {r["id"] for r in _iter_complete(self.path)}
        self._f = open(self.path, "a", encoding="utf-8")

    def _adopt_or_reset(self) -> None:
        previous = None
        if self.run_path.is_file():
            try:
                previous = json.loads(self.run_path.read_text()).get("identity")
            except (json.JSONDecodeError, OSError):
                previous = None
        if previous != self.identity and self.path.exists():
            # Records of another model/firmware/data: keep them for the user, out of the way.
            stamp = time.strftime("%Y%m%dT%H%M%S")
            self.moved_aside = self.directory / f"records.stale-{stamp}.jsonl"
            os.replace(self.path, self.moved_aside)
        if previous != self.identity:
            write_json_atomic(self.run_path, {"identity": self.identity})

    @property
    def done_ids(self) -> set[str]:
        return set(self._done)

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self._done

    def append(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":"), sort_keys=True)
        self._f.write(line + "\n")
        self._f.flush()
        self._done.add(record["id"])

    def sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self.sync()
            self._f.close()

    def records(self) -> list[dict]:
        self._f.flush()
        return read_records(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
