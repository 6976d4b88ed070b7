"""Runtime backends: what a target's `runtime.name` means, in one registry.

    from edgekit.runtimes import backend_for, get_backend
    backend = backend_for(target)          # checks the profile against the backend too
    backend.on_device_frontend, backend.evaluates, backend.builds
    result = backend.build(spec, target, out_dir)

Adding a backend (docs/ARCHITECTURE.md, "Adding a runtime backend"):
  1. a module here (or in your own package) with a RuntimeBackend subclass decorated with
     @register; its build() returns a BuildResult;
  2. one registration line: its module name in BUILTIN below, or, for a third-party package,
     an entry point in the group "edgekit.runtimes" (`name = "pkg.module"` in its pyproject's
     [project.entry-points."edgekit.runtimes"]): importing the module registers it;
  3. the runtime's op list, targets/runtimes/<name>.yaml (what edgekit convert checks).
Stages read the backend's attributes; none compares runtime names.
"""

from __future__ import annotations

from edgekit.errors import UserError
from edgekit.registry import Registry
from edgekit.runtimes.base import BuildResult, RuntimeBackend

__all__ = ["BuildResult", "RuntimeBackend", "backend_for", "backend_names", "get_backend", "register"]

ENTRY_POINT_GROUP = "edgekit.runtimes"
# The backends that ship with edgekit (modules of this package): one line per backend.
BUILTIN = ("edgekit_micro", "vela", "onnxruntime_qnn")

REGISTRY: Registry[RuntimeBackend] = Registry("runtime backend", ENTRY_POINT_GROUP, __name__, BUILTIN)
register = REGISTRY.register


def backend_names() -> list[str]:
    return REGISTRY.names()


def get_backend(name: str) -> RuntimeBackend:
    return REGISTRY.get(name, lambda known: f"runtime '{name}': no such runtime backend; known: {known} (a "
                                            f"third-party one registers under the entry-point group {ENTRY_POINT_GROUP})")


def backend_for(target) -> RuntimeBackend:
    """The backend of `target`'s runtime.name, after checking the profile fits it."""
    try:
        backend = get_backend(target.runtime.name)
    except UserError as exc:
        raise UserError(f"target {target.name}: runtime.name: {exc}") from None
    backend.check_target(target)
    return backend
