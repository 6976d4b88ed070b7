"""edgekit build"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgekit.cli._common import JsonOption, console, print_json, table, to_jsonable


def build_cmd(
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="model name or folder with model.yaml"),
    model_file: Optional[Path] = typer.Option(
        None, "--model-file", help="build this int8 .tflite (no model.yaml or data needed; with --model: "
                                   "instead of the model's weights)"),
    firmware_variant: Optional[str] = typer.Option(None, help="preprocessing variant of the firmware frontend ('none': no frontend)"),
    kernels: Optional[str] = typer.Option(None, help="override the profile's kernels: reference, dsp, mve"),
    inferences: int = typer.Option(3, "--inferences", min=1, help="inferences run on QEMU to count instructions"),
    platformio: bool = typer.Option(False, "--platformio", help="also export a PlatformIO project for a real board"),
    json_out: bool = JsonOption,
) -> None:
    """Convert, generate code, compile firmware (or an NPU artefact) and check the budgets."""
    from edgekit.build import build
    from edgekit.cli._common import progress as progress_bar
    from edgekit.errors import UserError
    from edgekit.models import load_model, model_for_file
    from edgekit.targets import load_target

    if model is None and model_file is None:
        raise UserError("give --model NAME (a model folder) or --model-file my_model.tflite (an int8 .tflite)")
    t = load_target(target)
    m = load_model(model) if model is not None else model_for_file(model_file)
    with progress_bar(not json_out) as p:
        task = p.add_task("build", total=None)
        res = build(m, t, firmware_variant=firmware_variant, kernels=kernels, n_inferences=inferences, platformio=platformio,
                    progress=lambda msg, i=0, n=0: p.update(task, description=msg),
                    tflite_path=model_file if model is not None else None)
    if json_out:
        d = to_jsonable(res)
        d["budget"] = res.budget.to_json() if res.budget else None
        print_json(d)
        return
    if res.npu is not None:
        npu = res.npu
        console.print(f"built {res.model} for {res.target} ({res.runtime}): {npu.ops_on_npu} of {npu.ops_total} "
                      f"ops on the NPU")
        for op in npu.cpu_ops:
            console.print(f"  on the CPU: {op}", highlight=False, markup=False)
        console.print(table("artefacts", ["role", "file"], [[k, str(v)] for k, v in npu.artefacts.items()]))
        cols = list(npu.budget.table()[0].keys()) if npu.budget.table() else []
        console.print(table("budgets", cols, [[r[c] for c in cols] for r in npu.budget.table()]))
        console.print(f"accuracy: {npu.accuracy_source}")
        console.print(f"report: {res.report}")
        return
    kb = lambda b: f"{b / 1024:.1f} KB" if b is not None else "-"  # noqa: E731
    rows = [
        ["firmware", str(res.elf), ""],
        ["flash", kb(res.flash_bytes), "measured from link"],
        ["RAM", kb(res.ram_bytes), "measured from link"],
        ["arena", kb(res.sizes.get("arena")), f"planned {kb(res.planned_arena_bytes)}"],
        ["per inference", f"{res.instructions_per_inference:,} {res.instructions_unit}" if res.instructions_per_inference else "-",
         "counted by QEMU -icount"],
        ["per inference", f"{res.cycles_per_inference_estimated:,.0f} {res.cycles['unit']}" if res.cycles else "-",
         f"{res.cycles['core']} timings, {res.cycles['cycles_per_instruction']:.2f} cycles/instruction" if res.cycles else "no timing table or no emulator"],
        ["per MAC", (f"{res.instructions_per_inference / res.total_macs:.2f} instructions"
                     + (f", {res.cycles_per_inference_estimated / res.total_macs:.2f} cycles (estimated)" if res.cycles else ""))
         if res.instructions_per_inference and res.total_macs else "-", ""],
        ["latency", f"{res.latency_ms_estimated:.2f} ms" if res.latency_ms_estimated is not None else "-",
         "estimated from the cycles" if res.cycles else "estimated (instructions x profile cpi)"],
        ["energy / inference", f"{res.energy_per_inference_uj_estimated:.1f} uJ" if res.energy_per_inference_uj_estimated is not None else "-", "estimated"],
        ["device = tflite-micro", {True: "yes, bit for bit", False: "NO", None: "not checked"}[res.device_matches_tflm], ""],
    ]
    ds = res.device_summary
    if ds:  # the on-device summary edgekit monitor reads (firmware/app/ek_summary.c)
        share = f" ({100 * ds['share_of_model']:.2f}% of the model)" if ds.get("share_of_model") else ""
        rows.append(["device summary", f"{ds['ram_bytes']} B RAM, {ds['count_per_inference']:,} {res.instructions_unit}"
                     f" per inference{share}", f"RAM {ds['ram_how']}; {res.instructions_unit} counted on the device"])
    console.print(table(f"edgekit build {res.model} -> {res.target} ({res.kernels} kernels)", ["figure", "value", "how"], rows))
    if res.per_op:
        console.print(table(f"where the model's {res.instructions_unit} go, by op type (one inference)",
                            ["op", "ops", "count", "share", "per MAC"],
                            [[t, v["ops"], f"{v['count']:,}", f"{100 * v['share']:.1f}%",
                              "-" if v["per_mac"] is None else f"{v['per_mac']:.2f}"]
                             for t, v in res.per_op["by_type"].items()]))
    if res.budget:
        cols = ["budget", "value", "limit", "margin", "how", "result"]
        console.print(table("budgets", cols, [[r[c] for c in cols] for r in res.budget.table()]))
    for note in res.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    console.print(f"report: {res.report}")
