"""edgekit skew"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import FRONTEND_HELP, FrontendDefineOption, FrontendIncludeOption, JsonOption
from edgekit.errors import UserError
from edgekit.report.entry_point import device_clip_share


def _pts(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:+.1f}"


def _stage_cell(st: Optional[dict]) -> str:
    if not st:
        return "-"
    star = "*" if st["significant"] else ""
    return f"{100 * st['difference']:+.1f} [{100 * st['ci_low']:+.1f},{100 * st['ci_high']:+.1f}]{star}"


def skew_cmd(
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    model: str = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml"),
    firmware_variant: Optional[str] = typer.Option(None, help="preprocessing variant of the firmware frontend"),
    limit: Optional[int] = typer.Option(None, help="at most this many samples per cohort"),
    cohort_firmware: Optional[str] = typer.Option(
        None, help="cohort manifest: a YAML file of `cohort: variant` lines or inline sensor-b:fast-resize[,...]; "
                   "each cohort runs on its own firmware (`*: variant` for the others)"),
    device: str = typer.Option("qemu", help="qemu, or serial:/dev/ttyACM0[@baud] for a real board"),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="emulator instances in parallel (default: cores)"),
    max_cohort_drop: float = typer.Option(0.02, help="flag a cohort whose significant drop exceeds this fraction"),
    captures: Optional[str] = typer.Option(
        None, help="folder of tensors captured on devices: manifest.csv|jsonl with id,raw,tensor[,output,"
                   "prediction,label,<cohort fields>]; nothing is built"),
    frontend_python: Optional[str] = typer.Option(
        None, help="FILE.py:FUNCTION, your preprocessing in Python: raw sample -> model input (float32 or int8)"),
    skip_bad: bool = typer.Option(False, help="--captures: leave bad rows out (listed) instead of stopping"),
    frontend: Optional[str] = typer.Option(None, help=FRONTEND_HELP + "the firmware of the cohorts --cohort-firmware does not list"),
    frontend_include: Optional[list[str]] = FrontendIncludeOption,
    frontend_define: Optional[list[str]] = FrontendDefineOption,
    cluster: Optional[str] = typer.Option(
        None, help="run the device batches on a Ray cluster: local (a private one on 127.0.0.1), auto, "
                   "ray://HOST:PORT or HOST:PORT; a Ray cluster belongs on a trusted network"),
    json_out: bool = JsonOption,
) -> None:
    """Is there training-serving skew on this firmware (or your own preprocessing), where, and how much?"""
    from edgekit.cli._common import (console, print_json, progress as progress_bar, stdout_to_stderr, table,
                                     task_reporter)
    from edgekit.models import load_model
    from edgekit.skew import gate, load_cohort_firmware, skew
    from edgekit.targets import load_target

    if limit is not None and limit <= 0:
        raise UserError(f"--limit {limit}: must be a positive number of samples per cohort")
    if jobs is not None and jobs <= 0:
        raise UserError(f"--jobs {jobs}: must be at least 1")
    spec, prof = load_model(model), load_target(target)
    if captures is not None or frontend_python is not None:
        given = [o for o, v in (("--captures", captures), ("--frontend-python", frontend_python),
                                ("--cohort-firmware", cohort_firmware), ("--firmware-variant", firmware_variant),
                                ("--frontend", frontend))
                 if v is not None]
        if len(given) > 1:
            raise UserError(f"{given[0]} and {given[1]}: give one preprocessing to compare with the reference")
        return _skew_entry_point(spec, prof, "captures" if captures is not None else "python",
                                 captures if captures is not None else frontend_python, limit, skip_bad,
                                 max_cohort_drop, json_out)
    if skip_bad:
        raise UserError("--skip-bad: only applies to --captures (bad rows of the captures manifest)")
    from edgekit.frontends.user_c import from_cli

    user_fe = from_cli(spec, frontend, frontend_include or (), frontend_define or (), firmware_variant)
    mapping = load_cohort_firmware(spec, cohort_firmware, others=user_fe or firmware_variant) \
        if cohort_firmware or user_fe else None
    with stdout_to_stderr(json_out), progress_bar(not json_out) as bar:
        report = task_reporter(bar)
        res = skew(spec, prof, firmware_variant=firmware_variant, cohort_firmware=mapping, limit=limit,
                   device=device, jobs=jobs, max_cohort_drop=max_cohort_drop, progress=report,
                   cluster=cluster)
    if json_out:
        print_json(res)
    else:
        fw = ", ".join(f"{k} -> {v}" for k, v in res.firmware.items())
        console.print(f"{res.model} on {res.target}: {res.samples} samples ({res.resumed} resumed, {res.new} new) "
                      f"in {res.wall_s:.0f} s; firmware: {fw}")
        console.print(table(None, ["path", "accuracy (measured)"],
                            [[p, "-" if a is None else f"{100 * a:.1f}%"] for p, a in res.accuracy.items()]))
        rows = []
        for d in res.decomposition:
            fl = d["paths"].get("float", {})
            e2e = d["paths"].get("device_e2e", {})
            par = d.get("parity") or {}
            rows.append([f"{d['field']}={d['value']}", ",".join(d["firmware"]), fl.get("n", "-"),
                         "-" if not fl else f"{100 * fl['accuracy']:.1f}",
                         "-" if not e2e else f"{100 * e2e['accuracy']:.1f}",
                         _stage_cell(d.get("quantization")), _stage_cell(d.get("kernels")),
                         _stage_cell(d.get("preprocessing")),
                         "-" if not par else f"{par['max_abs_diff']} / {100 * par['share_differing']:.1f}%"])
        console.print(table("accuracy change per stage, points [95% interval], * significant (McNemar p<0.05)",
                            ["cohort", "firmware", "n", "float %", "device e2e %", "quantization", "kernels",
                             "preprocessing", "parity max|d| / differing"], rows))
        for f in res.flagged:
            console.print(f"flagged: {f['field']}={f['value']} drop {-100 * f['difference']:.1f} points float -> "
                          f"device (p={f['p_value']:.2g}), explained by {f['stage']}")
        for f in res.preprocessing_skew:
            carried = "" if f["carried_by"] == f["firmware"] else \
                f", carried by {','.join(f['carried_by']) or 'no single firmware'}"
            console.print(f"preprocessing skew: {f['field']}={f['value']} on {','.join(f['firmware'])}{carried}: "
                          f"{100 * f['difference']:+.1f} points [{100 * f['ci_low']:+.1f}, {100 * f['ci_high']:+.1f}] "
                          f"(p={f['p_value']:.2g})")
            if f.get("interaction"):
                i = f["interaction"]
                console.print(f"  on the host 2x2: {100 * f['float_difference']:+.1f} points in float, interaction "
                              f"{100 * i['difference']:+.1f} [{100 * i['ci_low']:+.1f}, {100 * i['ci_high']:+.1f}] "
                              f"(p={i['p_value']:.2g}); {100 * f['saturated_share']:.0f}% of inputs clip in the "
                              f"worst channel", highlight=False)
            if f.get("diagnosis"):
                console.print(f"  diagnosis ({f['diagnosis']['kind']}): {f['diagnosis']['text']}", highlight=False)
        ex = res.examples.get("preprocessing", {})
        for e in ex.get("examples", [])[:3]:
            console.print(f"  example {e['id']}: label {e['label']}, device features -> {e['device_features']}, "
                          f"device end to end -> {e['device_e2e']}" + (f" ({e['picture']})" if "picture" in e else ""))
        from edgekit.frontends.user_c.report import build_lines

        for line in build_lines(res.builds):
            console.print(line, highlight=False, markup=False)
        console.print(f"wrote section 'skew' of {res.report_json}, and {res.html}")
    gate(res)


def _skew_entry_point(spec, prof, kind: str, option: str, limit, skip_bad: bool, max_cohort_drop: float,
                      json_out: bool) -> None:
    """--captures / --frontend-python: the entry point's tensors vs the reference, on the host."""
    from edgekit.cli._common import print_json, progress as progress_bar, stdout_to_stderr, task_reporter
    from edgekit.skew import gate
    from edgekit.skew.host import skew_entry_point

    with stdout_to_stderr(json_out), progress_bar(not json_out) as bar:
        res = skew_entry_point(spec, prof, kind, option, limit=limit, skip_bad=skip_bad,
                               max_cohort_drop=max_cohort_drop, progress=task_reporter(bar))
    if json_out:
        print_json(res)
    else:
        print_entry_point_skew(res)
    gate(res)


def _cell(st: Optional[dict]) -> str:
    if not st:
        return "-"
    return f"{100 * st['difference']:+.1f} [{100 * st['ci_low']:+.1f},{100 * st['ci_high']:+.1f}] p={st['p_value']:.2g}"


def print_entry_point_skew(res) -> None:
    from edgekit.cli._common import console, table

    ep = res.entry_point
    console.print(f"{res.model} on {res.target}: {ep['entry_point']} {ep['version']} vs the reference preprocessing, "
                  f"{res.samples} samples" + (f", {len(res.failures)} failed" if res.failures else "")
                  + (f", {len(res.skipped)} bad rows left out" if res.skipped else ""), highlight=False)
    if res.measure != "accuracy":
        console.print("no labels: agreement with the reference path stands in for accuracy (a drop is the flip rate)")
    console.print(table(None, ["path", f"{res.measure} (measured)"],
                        [[p, f"{100 * a:.1f}%"] for p, a in res.accuracy.items()]))
    rows = []
    carriers = {f["field"] for f in res.flagged if f.get("carried_by") == f"{f['field']}={f['value']}"}
    shown = carriers or {next((c["field"] for c in res.cohorts if c["field"] != "all"), "all")}
    for c in res.cohorts:
        if c["field"] != "all" and c["field"] not in shown:
            continue
        par, sat = c["parity"], c["saturation"]
        clip = device_clip_share(sat)[1]
        clip_ref = max(sat["reference"]) if sat["reference"] else 0.0
        rows.append([f"{c['field']}={c['value']}", c["n"], _cell(c["preprocessing_int8"]),
                     _cell(c["preprocessing_float"]), _cell(c["interaction"]),
                     f"{par['max_abs_diff']} / {100 * par['share_differing']:.0f}%", f"{100 * clip:.0f}% ({100 * clip_ref:.0f}%)",
                     f"{100 * c['detectable_drop']:.1f}", (c["diagnosis"] or {}).get("kind", "-")])
    console.print(table(f"preprocessing effect per {', '.join(sorted(shown))}, points [95% interval] (measured; "
                        f"detectable drop estimated; every cohort field in --json)",
                        ["cohort", "n", "int8", "float", "interaction", "parity max|d| / differing",
                         "clipped (ref)", "detectable", "diagnosis"], rows))
    print_flags(res)
    if res.html:
        console.print(f"wrote section 'skew_entry_point' of {res.report_json}, and {res.html}")


def eval_captures(spec, prof, captures: str, skip_bad: bool, min_accuracy, max_cohort_drop: float,
                  json_out: bool) -> None:
    """`edgekit eval --captures DIR` (edgekit.skew.captures_eval.evaluate_captures): per-cohort
    accuracy of the captures; the eval section when they are labelled and carry device outputs."""
    from edgekit.cli._common import console, err_console, print_json, progress as progress_bar, \
        stdout_to_stderr, table, task_reporter
    from edgekit.report.gates import enforce
    from edgekit.skew.captures_eval import evaluate_captures

    with stdout_to_stderr(json_out), progress_bar(not json_out) as bar:
        ev = evaluate_captures(spec, prof, captures, skip_bad=skip_bad, min_accuracy=min_accuracy,
                               max_cohort_drop=max_cohort_drop, progress=task_reporter(bar))
    res = ev.captures
    if json_out:
        print_json({"captures": res, "device_path": ev.device_path, "gates": ev.gates,
                    "eval_written": ev.eval_written, "eval_note": ev.eval_note})
        if not ev.eval_written:
            err_console.print(f"note: {ev.eval_note}", highlight=False)
    else:
        console.print(f"{res.model} on {res.target}: {res.samples} captures from {res.entry_point['version']}"
                      + (f", {len(res.skipped)} bad rows left out" if res.skipped else ""), highlight=False)
        if res.measure != "accuracy":
            console.print("no labels: agreement with the reference path stands in for accuracy (the flip rate)")
        console.print(table(None, ["path", f"{res.measure} (measured)"],
                            [[p, f"{100 * a:.1f}%"] for p, a in res.accuracy.items()]))
        rows = [[r["cohort"], r["accuracy"]["n"], f"{100 * r['accuracy']['accuracy']:.1f}%",
                 f"[{100 * r['accuracy']['ci_low']:.1f}, {100 * r['accuracy']['ci_high']:.1f}]", _cell(r["change"])]
                for r in ev.rows]
        console.print(table(f"{ev.device_path} per cohort (measured), change vs float on the reference tensor, points",
                            ["cohort", "n", res.measure, "95% interval", "vs float [95%] p"], rows))
        print_flags(res)
        console.print(ev.eval_note + (f", and {ev.html}" if ev.html else ""), highlight=False)
    enforce(ev.gates)


def print_flags(res) -> None:
    """Flagged cohorts (the one that carries each drop, its diagnosis), the cohorts whose
    preprocessing differs without a significant change, failed and left-out samples."""
    from edgekit.cli._common import console

    by_key = {(c["field"], c["value"]): c for c in res.cohorts}
    for f in res.flagged:
        own = f.get("carried_by") == f"{f['field']}={f['value']}"
        if not own and f["field"] != "all":
            continue
        console.print(f"preprocessing skew: {f['field']}={f['value']}: {f['summary']} "
                      f"[{100 * f['ci_low']:+.1f}, {100 * f['ci_high']:+.1f}] (p={f['p_value']:.2g})"
                      + ("" if own else f", carried by {f['carried_by']}"), highlight=False)
        d = by_key[(f["field"], f["value"])].get("diagnosis")
        if d and own:
            console.print(f"  diagnosis ({d['kind']}): {d['text']}", highlight=False)
    carried = [f"{f['field']}={f['value']}" for f in res.flagged
               if f["field"] != "all" and f.get("carried_by") != f"{f['field']}={f['value']}"]
    if carried:
        console.print(f"also flagged through the samples they share with those: {', '.join(carried)}",
                      highlight=False)
    for q in res.differs_not_significant[:8]:
        console.print(f"{q['field']}={q['value']}: {q['verdict']} (n={q['n']}, could detect a drop of "
                      f"{100 * q['detectable_drop']:.1f} points; {q['kind'] or 'unexplained'})", highlight=False)
    if len(res.differs_not_significant) > 8:
        console.print(f"... and {len(res.differs_not_significant) - 8} more cohorts like that (see --json)")
    for x in res.failures[:5]:
        console.print(f"failed: {x['id']}: {x['reason']}", highlight=False)
    for b in res.skipped[:5]:
        console.print(f"left out: {b['where']} (id {b['id']}): {b['problem']}", highlight=False)
