"""Reading YAML data files (targets, models) with errors that name the file and field."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from pydantic import ValidationError

from edgekit.errors import UserError


def read_yaml_mapping(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}:{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: must be a YAML mapping of fields, got {type(data).__name__}")
    return data


def deep_merge(base: dict, override: dict) -> dict:
    """Mappings merge recursively; any other value (lists included) replaces the base's."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validation_error_line(path: Path, exc: Exception) -> str:
    """One line: file, field, problem (the first of pydantic's errors, plus a count of the rest)."""
    if not isinstance(exc, ValidationError):
        return f"{path}: {exc}"
    errors = exc.errors()
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"])
    inner = (first.get("ctx") or {}).get("error")
    message = first["msg"]
    if inner is not None and hasattr(inner, "field"):
        field, message = inner.field, inner.message
    elif first["type"] == "extra_forbidden":
        message = "unknown field (check its spelling against the schema)"
    elif first["type"] == "missing":
        message = "required field is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if first["type"] not in ("missing", "extra_forbidden") and "input" in first and inner is None:
        message += f" (got {first['input']!r})"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{path}: {field or '<top>'}: {message}{more}"
