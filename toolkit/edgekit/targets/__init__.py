"""Target profiles: YAML files validated by a schema, with inheritance (`extends:`).

A profile is a shipped name (targets/<name>.yaml) or a path to a board file anywhere, whose
`extends:` finds its parent in the file's own folder first, then in the shipped profiles.

    from edgekit.targets import load_target, list_targets
    t = load_target("cortex-m4")
    t.budgets.ram_kb
"""

from __future__ import annotations

from pathlib import Path

from edgekit import resources
from edgekit.errors import UserError
from edgekit.targets.schema import TargetProfile
from edgekit.yamlio import deep_merge, read_yaml_mapping, validation_error_line

__all__ = ["TargetProfile", "load_target", "list_targets", "target_path", "resolve_raw"]


def _search_dirs(extra: Path | None) -> list[Path]:
    return [d for d in (extra, resources.targets_dir()) if d is not None]


def target_path(name_or_path: str, targets_dir: Path | None = None) -> Path:
    """A profile by name (looked up in targets/) or by path to a .yaml file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise UserError(f"{p}: target profile file not found")
        return p
    for d in _search_dirs(targets_dir):
        candidate = d / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    known = ", ".join(list_targets(targets_dir)) or "none"
    raise UserError(f"unknown target '{name_or_path}': known targets are {known} (see `edgekit targets list`)")


def resolve_raw(path: Path, targets_dir: Path | None = None, _chain: tuple[Path, ...] = ()) -> dict:
    """The profile's mapping with its parents merged in (child fields override)."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(p.stem for p in (*_chain, path))
        raise UserError(f"{_chain[0]}: extends: inheritance cycle {cycle}; remove one 'extends'")
    raw = read_yaml_mapping(path)
    parent = raw.get("extends")
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise UserError(f"{path}: extends: must be the name of another target, got {parent!r}")
    parent_file = _parent_path(path, parent, targets_dir)
    merged = deep_merge(resolve_raw(parent_file, targets_dir, (*_chain, path)), raw)
    merged["extends"] = parent
    return merged


def _parent_path(child: Path, parent: str, targets_dir: Path | None) -> Path:
    """`extends: parent` from a profile anywhere: the child's own folder first (a user's
    family of boards), then targets_dir, then the shipped profiles. A file never extends
    itself: `my-boards/cortex-m4.yaml` with `extends: cortex-m4` gets the shipped one."""
    folders = list(dict.fromkeys(d.resolve() for d in (child.parent, *_search_dirs(targets_dir))))
    for d in folders:
        candidate = d / f"{parent}.yaml"
        if candidate.is_file() and candidate.resolve() != child:
            return candidate
    looked = ", ".join(str(d) for d in folders)
    raise UserError(f"{child}: extends: unknown parent target '{parent}' (no {parent}.yaml in {looked}); "
                    f"known targets are {', '.join(list_targets(targets_dir)) or 'none'}")


def load_target(name_or_path: str, targets_dir: Path | None = None) -> TargetProfile:
    """Load, resolve inheritance and validate a target profile; UserError on any problem."""
    path = target_path(name_or_path, targets_dir)
    raw = resolve_raw(path, targets_dir)
    raw.setdefault("name", path.stem)
    try:
        return TargetProfile.model_validate(raw)
    except Exception as exc:  # pydantic.ValidationError
        raise UserError(validation_error_line(path, exc)) from None


def list_targets(targets_dir: Path | None = None) -> list[str]:
    names: set[str] = set()
    for d in _search_dirs(targets_dir):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)
