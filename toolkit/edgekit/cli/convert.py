"""edgekit convert"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from edgekit.cli._common import JsonOption, console, print_json, progress, table


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _pts(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:+.2f}"


def convert_cmd(
    model: str = typer.Option(..., "--model", "-m", help="model name or folder with model.yaml"),
    target: str = typer.Option(..., "--target", "-t", help="target profile name or .yaml path"),
    activations: str = typer.Option("int8", help="activation type: int8, or int16 where the runtime supports it"),
    model_file: Optional[Path] = typer.Option(None, "--model-file", help="convert this file instead of model.yaml's weights (.keras, .h5, SavedModel folder, .tflite, .onnx)"),
    verify_samples: str = typer.Option("64", "--verify-samples", help="test samples run through both LiteRT-ref and tflite-micro: a number or 'all'"),
    test_limit: Optional[int] = typer.Option(None, "--test-limit", help="use only the first N test samples (quick runs)"),
    max_drop: Optional[float] = typer.Option(None, "--max-drop", help="fail (exit 1) when int8 accuracy is more than this many points below float"),
    keep_dense: bool = typer.Option(False, "--keep-dense", help="keep Dense layers as FULLY_CONNECTED instead of 1x1 CONV_2D (the reference interpreters round FULLY_CONNECTED differently)"),
    json_out: bool = JsonOption,
) -> None:
    """Quantize for the target: op coverage check, int8 model, per-layer and per-cohort error."""
    from edgekit.cli.data import progress_callback
    from edgekit.convert import convert, gate, report_payload
    from edgekit.errors import UserError
    from edgekit.models import load_model
    from edgekit.targets import load_target

    if verify_samples == "all":
        n_verify = None
    else:
        try:
            n_verify = int(verify_samples)
        except ValueError:
            raise UserError(f"--verify-samples {verify_samples}: give a number or 'all'") from None
    spec = load_model(model)
    tgt = load_target(target)
    with progress(not json_out) as p:
        result = convert(spec, tgt, activations=activations, progress=progress_callback(p),
                         model_path=model_file, verify_samples=n_verify, test_limit=test_limit,
                         max_drop_points=max_drop, dense_as_conv=not keep_dense, enforce_gates=False)
    # Show the figures first, then fail the gate (exit 1) with them on screen.
    if json_out:
        print_json(report_payload(result))
    else:
        show(result)
    gate(result, max_drop)


def show(r) -> None:
    console.print(f"[bold]{r.model}[/] -> [bold]{r.target}[/] ({r.runtime}, {r.activations} activations) "
                  f"from {r.source_kind} {r.source}")
    if r.int8_path is not None:
        console.print(f"  wrote {r.int8_path}" + (f" and {r.float_path.name}" if r.float_path else "")
                      + f", {r.quant_report_path.name}, report.json section 'convert'")
    for w in r.op_warnings:
        console.print(f"  [yellow]warning[/]: {w}")
    for n in r.notes:
        console.print(f"  note: {n}")
    if r.accuracy is not None:
        a = r.accuracy
        rows = [["overall", "", a.overall.n, _pct(a.overall.float_accuracy), _pct(a.overall.int8_accuracy),
                 _pts(a.overall.delta_points)]]
        for field, groups in a.per_cohort.items():
            for value, g in groups.items():
                rows.append([field, value, g.n, _pct(g.float_accuracy), _pct(g.int8_accuracy), _pts(g.delta_points)])
        console.print(table("Accuracy on the test split (measured; int8 on LiteRT reference kernels)",
                            ["cohort", "value", "n", "float", r.activations, "delta (points)"], rows))
    if r.layers:
        rows = [[l.index if l.index >= 0 else "", l.op, l.layer[:48], "x".join(map(str, l.shape)),
                 "exact" if l.sqnr_db is None else f"{l.sqnr_db:.1f}",
                 "-" if l.sqnr_drop_db is None else f"{l.sqnr_drop_db:.1f}",
                 f"{l.rmse_over_range:.4f}", f"{l.rmse_lsb:.2f}", "<-" if l.dominant else ""] for l in r.layers]
        console.print(table("Per-layer error, float vs quantized activations on calibration data (measured)",
                            ["op#", "op", "layer", "shape", "SQNR dB", "drop dB", "RMSE/range", "RMSE LSB",
                             "dominant"], rows))
    if r.sizes is not None:
        s = r.sizes
        console.print(f"  size: float32 {s.float32_tflite_bytes or '-'} B -> {r.activations} {s.int8_tflite_bytes} B"
                      + f" (measured): {s.note}")
    if r.tflm_arena is not None:
        console.print(f"  tflite-micro arena (measured): {r.tflm_arena.smallest_working_bytes} bytes "
                      f"(recording allocator reported {r.tflm_arena.recorded_total_bytes})")
    if r.bit_exactness is not None:
        b = r.bit_exactness
        verdict = "bit-exact" if b.bit_exact else f"[red]{b.mismatched_samples} mismatched[/]"
        console.print(f"  LiteRT-ref vs tflite-micro on {b.samples} {b.split} samples: {verdict}")
