"""edgekit eval"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import (FRONTEND_HELP, FrontendDefineOption, FrontendIncludeOption, JsonOption, console, err_console, print_json, progress as progress_bar,
                                 stdout_to_stderr, table, task_reporter, to_jsonable)


def eval_cmd(
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    model: str = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml"),
    device: Optional[str] = typer.Option(None, help="qemu (the default for firmware), or serial:/dev/ttyACM0[@baud] "
                                                    "for a real board"),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="emulator instances in parallel (default: cores)"),
    limit: Optional[int] = typer.Option(None, help="evaluate at most this many test samples"),
    cohorts: Optional[str] = typer.Option(None, help="extra cohort combinations, e.g. mic+snr_db"),
    min_accuracy: Optional[float] = typer.Option(None, help="gate: overall device accuracy at least this (0-1)"),
    max_cohort_drop: float = typer.Option(0.02, help="flag a cohort whose significant drop exceeds this"),
    firmware_variant: Optional[str] = typer.Option(None, help="preprocessing variant of the firmware frontend"),
    cohort_firmware: Optional[str] = typer.Option(
        None, help="the firmware each device cohort ships: a YAML file of `cohort: variant` lines or inline "
                   "sensor-b:fast-resize[,...]; cohorts not listed run --firmware-variant (or `*: variant`)"),
    frontend: Optional[str] = typer.Option(None, help=FRONTEND_HELP + "built into the firmware instead of the generated one"),
    frontend_include: Optional[list[str]] = FrontendIncludeOption,
    frontend_define: Optional[list[str]] = FrontendDefineOption,
    captures: Optional[str] = typer.Option(
        None, help="evaluate tensors captured on devices instead (folder with manifest.csv|jsonl); nothing is built"),
    skip_bad: bool = typer.Option(False, help="--captures: leave bad rows out (listed) instead of stopping"),
    cluster: Optional[str] = typer.Option(
        None, help="run the device batches on a Ray cluster: local (a private one on 127.0.0.1), auto, "
                   "ray://HOST:PORT or HOST:PORT; a Ray cluster belongs on a trusted network"),
    json_out: bool = JsonOption,
) -> None:
    """Run the test split on the device: per-cohort accuracy, latency, memory, energy, gates."""
    from edgekit.errors import UserError
    from edgekit.harness.evaluate import evaluate
    from edgekit.models import load_model
    from edgekit.runtimes import backend_for
    from edgekit.harness.fleet import load_cohort_firmware
    from edgekit.stats import parse_combos
    from edgekit.targets import load_target

    if limit is not None and limit <= 0:
        raise UserError(f"--limit {limit}: must be a positive number of samples")
    if jobs is not None and jobs <= 0:
        raise UserError(f"--jobs {jobs}: must be at least 1")
    spec, prof = load_model(model), load_target(target)
    if captures is not None:
        from edgekit.cli.skew import eval_captures

        return eval_captures(spec, prof, captures, skip_bad, min_accuracy, max_cohort_drop, json_out)
    from edgekit.frontends.user_c import from_cli

    user_fe = from_cli(spec, frontend, frontend_include or (), frontend_define or (), firmware_variant)
    backend = backend_for(prof)
    if (cohort_firmware or user_fe) and not backend.on_device_frontend:
        raise UserError(f"--cohort-firmware/--frontend: {prof.name} runs {prof.runtime.name}, which has no on-device "
                        f"frontend to vary; give a target whose runtime builds firmware (e.g. cortex-m7)")
    backend.check_can_evaluate(spec, prof)

    mapping = load_cohort_firmware(spec, cohort_firmware, others=user_fe or firmware_variant) \
        if cohort_firmware or user_fe else None
    with stdout_to_stderr(json_out), progress_bar(not json_out) as bar:
        report = task_reporter(bar)
        res = evaluate(spec, prof, device=device, jobs=jobs, limit=limit, combos=parse_combos(cohorts),
                       min_accuracy=min_accuracy, max_cohort_drop=max_cohort_drop,
                       firmware_variant=firmware_variant, progress=report, enforce_gates=False,
                       cohort_firmware=mapping, cluster=cluster)
    if res.moved_aside is not None:
        err_console.print(f"note: the records there were made with another model, firmware or data; "
                          f"moved aside to {res.moved_aside} and evaluated from the start", highlight=False)
    if json_out:
        print_json(json_payload(res))
    else:
        rows = [[p, "-" if a is None else f"{a * 100:.2f}%"] for p, a in res.accuracy.items()]
        console.print(f"{spec.name} on {prof.name}: {res.samples} samples ({res.resumed} resumed, "
                      f"{res.new} new) in {res.wall_s:.0f} s")
        console.print(table(None, ["path", "accuracy"], rows))
        _print_tolerance(res)
        for f in res.flagged:
            on = f" on {','.join(f['carried_by'] or f['firmware'])}" if "carried_by" in f else \
                (f" on {','.join(f['firmware'])}" if f.get("firmware") else "")
            console.print(f"flagged: {f['field']}={f['value']} drop {-f['difference'] * 100:.1f} points "
                          f"(p={f['p_value']:.2g}), explained by {f['stage']}{on}")
        if res.firmware_carried:
            n_pre = sum(1 for f in res.flagged if f["stage"] == "preprocessing")
            for variant, n in sorted(res.firmware_carried.items(), key=lambda kv: -kv[1]):
                on = [k for k, v in mapping.as_json().items() if v == variant]
                console.print(f"firmware {variant} ({', '.join('other devices' if k == '*' else k for k in on)}) "
                              f"carries {n} of the {n_pre} cohorts flagged for preprocessing")
        from edgekit.frontends.user_c.report import build_lines
        from edgekit.reportstore import read_report

        for line in build_lines((read_report(res.directory)["eval"].get("cohort_firmware") or {}).get("builds", {})):
            console.print(line, highlight=False, markup=False)
        console.print(f"wrote {res.report_json}, {res.html}, {res.junit}")
    # Gates last, so the reports are written and the JSON printed whatever the outcome.
    from edgekit.reportstore import read_report
    from edgekit.report.gates import enforce

    enforce(read_report(res.directory)["eval"]["gates"])


def json_payload(res) -> dict:
    """`eval --json`: the result plus what the tables and reports show, from the eval section
    of report.json, for a CI job: every path's accuracy with its interval, per-cohort accuracy
    with intervals, the flagged cohorts (stage, p), the gates, budgets, latency, bit-exactness."""
    from edgekit.reportstore import read_report

    sec = read_report(res.directory)["eval"]
    out = to_jsonable(res)
    out.update({
        "device_path": sec["device_path"], "paths": sec["paths"], "per_cohort": sec["accuracy"],
        "intervals": "95% Wilson score intervals (ci_low, ci_high)",
        "flagged": sec["flagged"], "gates": sec.get("gates", []), "budgets": sec["budgets"],
        "latency": sec["latency"], "bit_exact": sec["bit_exact"]})
    return out


def _print_tolerance(res) -> None:
    """A device held to a reference within a tolerance (the QNN HTP emulator): its gate per
    cohort, and where its top-1 disagreements with the reference fall."""
    from edgekit.reportstore import read_report

    sec = read_report(res.directory)["eval"]
    tol = sec.get("tolerance")
    if not tol:
        return
    rows = [g for g in sec["gates"] if g["gate"] == "tolerance"]
    console.print(table(f"held to {tol['reference']} within {tol['points']:g} point(s)",
                        ["cohort", "device - reference (points)", "within"],
                        [[g["subject"], f"{g['value']:+.2f}", "yes" if g["passed"] else "NO"] for g in rows]))
    agreement = sec.get("agreement") or {}
    agree = agreement.get(f"{sec['device_path']}_vs_{tol['reference']}")
    dis = agreement.get("disagreements_by_float_margin")
    if agree and dis and dis["disagreements"]:
        console.print(f"top-1 agreement with {tol['reference']}: {agree['top1_agreement'] * 100:.2f}%; "
                      f"{dis['disagreements']} disagreements, the largest at a float top-2 margin of "
                      f"{dis['largest_float_margin_of_a_disagreement']:.2f} (near ties under "
                      f"{dis['near_tie_margin']:g}: {_pct(dis['disagreement_rate_near_tie'])} disagree; "
                      f"the rest: {_pct(dis['disagreement_rate_confident'])})")


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{x * 100:.2f}%"
