"""Writing files so that an interrupted stage never leaves one half-written (temp + rename)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would surprise the next user of a build folder
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest_rows(manifest: Path, needs: str, unreadable_hint: str) -> list[tuple[str, dict]]:
    """A CSV (header row) or JSONL (one object a line) manifest -> ("file:line", row) pairs;
    UserError naming the line otherwise. `needs`: the columns a row must have, for the
    messages ("path and label"); `unreadable_hint`: what to check when the file cannot be read."""
    import csv
    import json

    from edgekit.errors import UserError

    manifest = Path(manifest)
    rows = []
    try:
        if manifest.suffix.lower() == ".jsonl":
            with open(manifest, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UserError(f"{manifest}:{n}: not valid JSON ({exc.msg}); one object a line") from None
                    if not isinstance(row, dict):
                        raise UserError(f"{manifest}:{n}: must be a JSON object with {needs}")
                    rows.append((f"{manifest}:{n}", row))
        elif manifest.suffix.lower() == ".csv":
            with open(manifest, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f)
                if reader.fieldnames is None:
                    raise UserError(f"{manifest}: empty; needs a header row with at least {needs.replace(' and ', ',')}")
                for n, row in enumerate(reader, 2):
                    if None in row:
                        raise UserError(f"{manifest}:{n}: more values than header columns")
                    rows.append((f"{manifest}:{n}", row))
        else:
            raise UserError(f"{manifest}: unknown manifest type; use .csv or .jsonl")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{manifest}: cannot read ({exc}); {unreadable_hint}") from None
    return rows
