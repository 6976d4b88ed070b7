"""report.json in build/<target>/<model>/: each stage owns one top-level section.

Stages never edit each other's sections; they call `write_section` with their own name
(convert, build, budget, eval, skew, npu, ...). Writes are atomic (temp file + rename), so
an interrupted stage never leaves a half-written report that looks valid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgekit.fileio import write_atomic

REPORT_NAME = "report.json"
SCHEMA_VERSION = 1


def read_report(directory: Path) -> dict:
    p = Path(directory) / REPORT_NAME
    if not p.is_file():
        return {"schema_version": SCHEMA_VERSION}
    return json.loads(p.read_text())


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(Path(path), json.dumps(data, indent=2, default=_default) + "\n")


def write_section(directory: Path, section: str, data: Any) -> Path:
    """Replace one stage's section of report.json, keeping the others."""
    report = read_report(directory)
    report["schema_version"] = SCHEMA_VERSION
    report[section] = data
    path = Path(directory) / REPORT_NAME
    write_json_atomic(path, report)
    return path


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
