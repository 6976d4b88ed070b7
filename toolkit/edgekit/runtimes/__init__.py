"""Runtime backends: what a target's `runtime.name` means, in one registry.

    from edgekit.runtimes import backend_for, get_backend
    backend = backend_for(target)          # checks the profile against the backend too
    backend.on_device_frontend, backend.evaluates, backend.builds
    result = backend.build(spec, target, out_dir)

Adding a backend (docs/ARCHITECTURE.md, "How to add a runtime backend"):
  1. a module here (or in your own package) with a RuntimeBackend subclass decorated with
     @register; its build() returns a BuildResult;
  2. one registration line: its module name in BUILTIN below, or, for a third-party package,
     an entry point in the group "edgekit.runtimes" (`name = "pkg.module"` in its pyproject's
     [project.entry-points."edgekit.runtimes"]): importing the module registers it;
  3. the runtime's op list, targets/runtimes/<name>.yaml (what edgekit convert checks).
Stages read the backend's attributes; none compares runtime names.
"""

from __future__ import annotations

import importlib
from typing import Type

from edgekit.errors import UserError
from edgekit.runtimes.base import BuildResult, RuntimeBackend

__all__ = ["BuildResult", "RuntimeBackend", "backend_for", "backend_names", "get_backend", "register"]

ENTRY_POINT_GROUP = "edgekit.runtimes"
# The backends that ship with edgekit (modules of this package): one line per backend.
BUILTIN = ("edgekit_micro", "vela", "onnxruntime_qnn")

_REGISTRY: dict[str, RuntimeBackend] = {}
_loaded = False


def register(cls: Type[RuntimeBackend]) -> Type[RuntimeBackend]:
    """Class decorator: make `cls` the backend for profiles whose runtime.name is cls.name."""
    name = getattr(cls, "name", None)
    if not name:
        raise TypeError(f"{cls.__qualname__}: a runtime backend needs a class attribute 'name'")
    other = _REGISTRY.get(name)
    if other is not None and type(other) is not cls:
        raise TypeError(f"runtime backend '{name}' registered twice ({type(other).__qualname__}, {cls.__qualname__})")
    _REGISTRY[name] = cls()
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in BUILTIN:
        importlib.import_module(f"{__name__}.{mod}")
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:  # a broken plugin must not take the built-in runtimes down
            raise UserError(f"entry point {ep.name} = {ep.value} (group {ENTRY_POINT_GROUP}): cannot be "
                            f"imported ({type(exc).__name__}: {exc}); fix or uninstall that package") from None


def backend_names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get_backend(name: str) -> RuntimeBackend:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(f"runtime '{name}': no such runtime backend; known: {', '.join(sorted(_REGISTRY))} "
                        f"(a third-party one registers under the entry-point group {ENTRY_POINT_GROUP})") from None


def backend_for(target) -> RuntimeBackend:
    """The backend of `target`'s runtime.name, after checking the profile fits it."""
    try:
        backend = get_backend(target.runtime.name)
    except UserError as exc:
        raise UserError(f"target {target.name}: runtime.name: {exc}") from None
    backend.check_target(target)
    return backend
