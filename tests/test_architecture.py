"""The package's shape, read from its source with `ast` (docs/ARCHITECTURE.md, "Rooms"):
no import cycle between edgekit's rooms (its subpackages and top-level modules), no library
module importing the command layer (edgekit.cli), and no module over ~500 lines without the
reason at its top. Imports inside functions count: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import edgekit

PACKAGE = Path(edgekit.__file__).parent
# Modules that may import the command layer: the command layer itself and `python -m edgekit`.
CLI_ROOMS = {"cli", "__main__"}
MAX_LINES = 520
LONG_REASON = "Why this module is long:"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            yield path, ".".join(parts[:-1]), True
        else:
            yield path, ".".join(parts), False


def _imports(path: Path, module: str, is_package: bool) -> set[str]:
    """Every edgekit module `path` imports, anywhere in the file."""
    package = module if is_package else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            # `from edgekit import data` imports the subpackage edgekit.data
            out.update(f"{base}.{a.name}" for a in node.names) if base == "edgekit" else out.add(base)
    return {m for m in out if m == "edgekit" or m.startswith("edgekit.")}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "edgekit"


def _room_graph() -> dict[str, dict[str, str]]:
    """room -> {room it imports: one module where it does}."""
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for path, module, is_pkg in _modules():
        src = _room(module)
        for imported in _imports(path, module, is_pkg):
            dst = _room(imported)
            if dst not in (src, "edgekit"):
                graph[src].setdefault(dst, module)
    return graph


def _cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one room (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_rooms():
    graph = _room_graph()
    problems = []
    for comp in _cycles(graph):
        edges = [f"{a} -> {b} ({graph[a][b]})" for a in comp for b in graph.get(a, {}) if b in comp]
        problems.append(f"cycle between {', '.join(comp)}: " + "; ".join(edges))
    assert not problems, "\n".join(problems)


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b": "m"}, "b": {"c": "m"}, "c": {"a": "m"}, "d": {"a": "m"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": "m"}, "b": {}}) == []


def test_no_library_module_imports_the_command_layer():
    bad = [f"{module} imports {imp}" for path, module, is_pkg in _modules() if _room(module) not in CLI_ROOMS
           for imp in _imports(path, module, is_pkg) if _room(imp) == "cli"]
    assert not bad, "\n".join(bad)
def test_long_modules_say_why_at_their_top():
    bad = []
    for path, module, _ in _modules():
        text = path.read_text()
        n = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if n > MAX_LINES and LONG_REASON not in doc:
            bad.append(f"{path.relative_to(PACKAGE.parent)}: {n} lines; split it, or say "
                       f"'{LONG_REASON} ...' in its docstring")
    assert not bad, "\n".join(bad)
