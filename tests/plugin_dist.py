"""A third-party package on sys.path, made for a test: a module plus a .dist-info whose
entry_points.txt names it, so importlib.metadata finds it as an installed plugin would be."""

from __future__ import annotations

import sys
from pathlib import Path


def install_plugin(root: Path, dist: str, group: str, name: str, module: str, source: str) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}\n")
    sys.path.insert(0, str(root))


def uninstall_plugin(root: Path, module: str) -> None:
    sys.path.remove(str(root))
    sys.modules.pop(module, None)
