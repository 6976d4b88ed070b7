"""The `edgekit` command: a thin layer over the library API.

Exit codes: 0 ok, 1 a check failed (budget or accuracy gate), 2 bad input or usage,
3 an internal error (a bug: run with --debug and report it).
"""

from __future__ import annotations

import sys
import traceback

import typer

from edgekit import __version__
from edgekit.cli import models as models_cli
from edgekit.cli import monitor as monitor_cli
from edgekit.cli import stages as stages_cli
from edgekit.cli import targets as targets_cli
from edgekit.cli._common import err_console, table
from edgekit.errors import CheckFailed, EdgekitError

app = typer.Typer(
    name="edgekit",
    help="Take a trained model to an edge device and prove it works there.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(targets_cli.app, name="targets")
app.add_typer(models_cli.app, name="models")
app.add_typer(monitor_cli.app, name="monitor")
stages_cli.register(app)

_DEBUG = {"on": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    _DEBUG["on"] = debug
    if version:
        typer.echo(f"edgekit {__version__}")
        raise typer.Exit(0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _DEBUG["on"] = "--debug" in argv
    try:
        app(args=argv, prog_name="edgekit", standalone_mode=False)
        return 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("edgekit: interrupted")
        return 130
    except typer.TyperException as exc:  # usage errors (typer's vendored click): exit 2
        if hasattr(exc, "show"):
            exc.show()
        else:
            err_console.print(f"edgekit: error: {exc.format_message()}", markup=False)
        return 2
    except EdgekitError as exc:
        if _DEBUG["on"]:
            traceback.print_exc()
        err_console.print(f"edgekit: error: {exc}", highlight=False, markup=False, soft_wrap=True)
        if isinstance(exc, CheckFailed) and exc.table:
            cols = list(exc.table[0].keys())
            err_console.print(table(None, cols, [[r.get(c) for c in cols] for r in exc.table]))
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("edgekit: interrupted")
        return 130
    except Exception as exc:  # a bug in edgekit, not the user's mistake
        if _DEBUG["on"]:
            traceback.print_exc()
        err_console.print(f"edgekit: internal error: {type(exc).__name__}: {exc} "
                          f"(run again with --debug for the traceback)", highlight=False, markup=False)
        return 3


def entry() -> None:
    from edgekit.cli._native_log import native_log_filter

    with native_log_filter(enabled="--debug" not in sys.argv[1:]):
        code = main()
    sys.exit(code)
