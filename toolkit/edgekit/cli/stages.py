"""Registers the pipeline stage commands, one module each (so each stage owns its file)."""

from __future__ import annotations

import typer

from edgekit.cli import build, convert, data, eval as eval_, report, skew, train


def register(app: typer.Typer) -> None:
    app.add_typer(data.app, name="data")
    app.command("train")(train.train_cmd)
    app.command("convert")(convert.convert_cmd)
    app.command("build")(build.build_cmd)
    app.command("eval")(eval_.eval_cmd)
    app.command("skew")(skew.skew_cmd)
    app.command("report")(report.report_cmd)
