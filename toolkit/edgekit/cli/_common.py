"""What every command shares: the --json flag, output helpers and progress bars."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from typing import Any, Callable, Iterable, Iterator

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

JSON_HELP = "Print machine-readable JSON on stdout instead of tables."
JsonOption = typer.Option(False, "--json", help=JSON_HELP)
# The user's C frontend (eval and skew): the sources' option says where they go.
FRONTEND_HELP = "your own C frontend (firmware/frontends/include/ek_user_frontend.h): FILE.c[,FILE.c...], "
FrontendIncludeOption = typer.Option(None, help="include folder for --frontend (repeatable)")
FrontendDefineOption = typer.Option(None, help="NAME=VALUE for --frontend's sources (repeatable)")

# Piped output is not wrapped at 80 columns: tables stay one row per line for grep and logs.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    return obj


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def table(title: str | None, columns: list[str], rows: Iterable[Iterable[Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=(i == 0))
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    return t


@contextmanager
def progress(enabled: bool = True) -> Iterator["Progress"]:
    """A rich progress display on stderr; silent when disabled (--json) or not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    show = enabled and err_console.is_terminal
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show,
        transient=True,
    ) as p:
        yield p


@contextmanager
def stdout_to_stderr(enabled: bool):
    """Keep stdout for the JSON answer: libraries the stages call (TensorFlow's converter,
    QNN) print to file descriptor 1, so it points at stderr while the work runs."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def task_reporter(bar) -> "Callable[[str, int, int], None]":
    """progress(description, done, total), the stages' callback, drawn as one bar per task."""
    tasks: dict = {}

    def report(desc: str, done: int, total: int) -> None:
        if desc not in tasks:
            tasks[desc] = bar.add_task(desc, total=total)
        bar.update(tasks[desc], completed=done, total=total)

    return report
