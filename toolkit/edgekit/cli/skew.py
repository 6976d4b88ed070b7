"""edgekit skew"""

from __future__ import annotations

from typing import Optional

import typer

from edgekit.cli._common import JsonOption
from edgekit.errors import UserError


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
    json_out: bool = JsonOption,
) -> None:
    """Is there training-serving skew on this firmware, where, and how much?"""
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
    mapping = load_cohort_firmware(spec, cohort_firmware, others=firmware_variant) if cohort_firmware else None
    with stdout_to_stderr(json_out), progress_bar(not json_out) as bar:
        report = task_reporter(bar)
        res = skew(spec, prof, firmware_variant=firmware_variant, cohort_firmware=mapping, limit=limit,
                   device=device, jobs=jobs, max_cohort_drop=max_cohort_drop, progress=report)
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
        ex = res.examples.get("preprocessing", {})
        for e in ex.get("examples", [])[:3]:
            console.print(f"  example {e['id']}: label {e['label']}, device features -> {e['device_features']}, "
                          f"device end to end -> {e['device_e2e']}" + (f" ({e['picture']})" if "picture" in e else ""))
        console.print(f"wrote section 'skew' of {res.report_json}, and {res.html}")
    gate(res)
