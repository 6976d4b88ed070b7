"""The edgekit-micro runtime: our own int8 C kernels compiled into firmware for a Cortex-M.

build(): int8 model (edgekit.convert.int8_model) -> C (edgekit.codegen) [+ the on-device
frontend] -> firmware.elf (edgekit.firmware.build_elf) -> a few inferences on the emulated
board (instructions per inference, counted by the emulator; outputs checked against the
tflite-micro interpreter) -> budget check -> report sections "build" and "budget".
Over budget: the report is written first, then CheckFailed (exit 1) with the table.
See docs/ARCHITECTURE.md, "Runtime backends".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit import reportstore
from edgekit.errors import CheckFailed, UserError
from edgekit.runtimes import register
from edgekit.runtimes.base import BuildResult, Progress, RuntimeBackend, say as _say

ELF_NAME = "firmware"
HOW_INSTRUCTIONS = "counted by the emulator (QEMU -icount), max over the inferences run"


@register
class EdgekitMicro(RuntimeBackend):
    name = "edgekit-micro"
    description = "edgekit's own int8 C kernels (bit-exact with tflite-micro), linked into firmware"
    builds = "firmware.elf for the target's board (codegen C + kernels + device app)"
    model_file = "model_int8.tflite"
    evaluates = True
    on_device_frontend = True

    def build(self, spec, target, out: Path, *, progress: Progress = None, check_budgets: bool = True,
              firmware_variant: Optional[str] = None, kernels: Optional[str] = None,
              tflite_path: Optional[Path] = None, n_inferences: int = 3, platformio: bool = False,
              user_frontend=None, **_ignored) -> BuildResult:
        return build_firmware(spec, target, firmware_variant, kernels, progress, tflite_path, n_inferences, out,
                              platformio, check_budgets, user_frontend)


def _frontend(spec, tflite: Path, variant: Optional[str], out: Path, user_frontend=None):
    """The on-device frontend's sources, or None when the firmware is built without one."""
    from edgekit import frontends

    if user_frontend is not None:
        from edgekit.frontends import user_c

        return user_c.firmware_sources(user_frontend, spec, frontends.input_quant_of(tflite), out / "frontend")
    if variant == "none" or (variant is None and spec.preprocessing.kind == "tensor"):
        return None  # a `tensor` input is given to the device as is: no frontend to build

    v = frontends.get_variant(spec, variant)
    return frontends.generate(spec, v, frontends.input_quant_of(tflite), out / "frontend")


def _inputs(spec, cg, n: int, notes: list) -> np.ndarray:
    """n int8 model inputs: test-split samples quantized with the model's input scale when the
    model has a prepared dataset, else generated ones (see generated_inputs)."""
    shape = tuple(cg.input_shape[1:]) if cg.input_shape and cg.input_shape[0] == 1 else tuple(cg.input_shape)
    if spec.dataset:  # a model without a dataset (a bare --model-file) never borrows another's data
        try:
            from edgekit.data import split_arrays

            x, _, _ = split_arrays(spec, "test", limit=n)
            v = x.astype(np.float64) / cg.input_scale
            q = np.sign(v) * np.floor(np.abs(v) + 0.5) + cg.input_zero_point  # TFLite rounds half away from zero
            notes.append(f"instructions counted and device checked on the first {len(x)} test samples")
            return np.clip(q, -128, 127).astype(np.int8).reshape((len(x), *shape))
        except (UserError, ImportError, FileNotFoundError) as exc:
            notes.append(f"test split unavailable ({exc})")
    x = generated_inputs(shape, cg.input_zero_point, max(n, GENERATED_INPUTS))
    notes.append(f"instructions counted and device checked on {len(x)} seeded generated inputs across the "
                 f"int8 input range (constant -128, 127 and the zero point {cg.input_zero_point}, then uniform "
                 f"and near-zero-point random); accuracy needs data: a model.yaml with a dataset, then "
                 f"`edgekit eval`")
    return x


GENERATED_INPUTS = 8


def generated_inputs(shape: tuple, zero_point: int, n: int, seed: int = 0) -> np.ndarray:
    """n int8 inputs spanning the quantized range, seeded: the three constant extremes (all
    -128, all 127, all the zero point, which saturate or zero every layer), then uniform over
    [-128, 127] and values near the zero point (the range real data mostly occupies), alternately."""
    rng = np.random.default_rng(seed)
    rows = [np.full(shape, v, np.int8) for v in (-128, 127, int(np.clip(zero_point, -128, 127)))]
    while len(rows) < n:
        if len(rows) % 2:
            rows.append(rng.integers(-128, 128, shape, dtype=np.int8))
        else:
            near = np.rint(rng.normal(zero_point, 16.0, shape))
            rows.append(np.clip(near, -128, 127).astype(np.int8))
    return np.stack(rows[:n])


def build_firmware(spec, target, firmware_variant, kernels, progress, tflite_path, n_inferences, out: Path,
                 platformio: bool = False, check_budgets: bool = True, user_frontend=None) -> BuildResult:
    from edgekit import codegen
    from edgekit.budget import check, estimate_figures
    from edgekit.convert import int8_model
    from edgekit.devices import DeviceError, emulated_spec, open_device
    from edgekit.firmware import FirmwareBuildError, build_elf, kernel_defines
    from edgekit.targets import kernel_variants

    t0 = time.time()
    notes: list[str] = []
    kernels = kernels or target.runtime.kernels
    kernel_variants.get(kernels)   # one line naming the known variants for an unknown one
    if kernels not in kernel_variants.available(target.core.features):
        raise UserError(f"--kernels {kernels}: target {target.name} has no {kernels.upper()} extension; "
                        f"use --kernels {target.runtime.kernels} (its profile's) or reference")
    out.mkdir(parents=True, exist_ok=True)
    tflite = int8_model(spec, target, out, progress=progress, tflite_path=tflite_path, notes=notes)

    _say(progress, "codegen: generating C from the int8 model")
    cg = codegen.generate(tflite, out / "codegen", spec.name, report_dir=out)
    fe = _frontend(spec, tflite, firmware_variant, out, user_frontend)
    sources, incs = list(cg.sources), list(cg.include_dirs)
    # The app's per-op profile holds exactly this model's ops (4 bytes each).
    defines = {**kernel_defines(kernels), "EK_APP_MAX_OPS": f"{max(len(cg.ops), 1)}u", **_summary_defines(cg)}
    if fe is not None:
        sources += list(fe.sources)
        incs += list(fe.include_dirs)
        defines.update(fe.defines)

    _say(progress, f"firmware: compiling for {target.core.cpu}")
    try:
        img = build_elf(target, sources, incs, defines, out, app="protocol", name=ELF_NAME)
    except FirmwareBuildError as exc:
        if user_frontend is not None and fe is not None and any(w.stem in exc.log for w in fe.sources[1:]):
            from edgekit.frontends.user_c import device_build_error

            raise device_build_error(exc.log) from None
        if "overflowed" in exc.log or "will not fit" in exc.log:
            raise CheckFailed(f"firmware for {spec.name} does not fit the emulated board of {target.name}: "
                              f"{str(exc).removeprefix('firmware build failed: ')}") from None
        raise

    instructions = stack = None
    matches = None
    op_counts: list[int] = []
    summary = None
    last_count = None
    unit = "instructions (emulated)"
    emulated = emulated_spec(target)  # the device kind that emulates this board, if any
    if emulated is not None:
        _say(progress, f"QEMU: {n_inferences} inferences on {target.emulator.machine}")
        x = _inputs(spec, cg, n_inferences, notes)
        try:
            with open_device(emulated, target, img) as dev:
                info = dev.info()
                if info.model_hash != cg.model_hash:
                    raise CheckFailed(f"firmware reports model hash {info.model_hash}, generated {cg.model_hash}")
                results = dev.infer_batch([row.tobytes() for row in x], "features")
                op_counts = dev.op_counts()  # of the last inference
                ran = dev.counters().invocations  # the device's own count: each input ran once
                if ran != len(x):
                    raise CheckFailed(f"firmware reports {ran} inferences for the {len(x)} inputs sent")
                summary = dev.summary()      # the on-device summary's cost (edgekit monitor)
                last_count = results[-1].model_count
        except DeviceError as exc:
            raise CheckFailed(f"firmware for {spec.name} failed on QEMU ({target.emulator.machine}): {exc}") from None
        instructions = max(r.model_count for r in results)
        stack = max(r.stack_high_water for r in results)
        unit = results[0].unit
        matches = _check_against_tflm(tflite, x, results, cg, notes)
    else:
        notes.append("no emulator for this target: latency needs a board (edgekit eval --device serial:...)")
    cyc = _estimate_cycles(cg, target, kernels, x[:1], out, progress, notes) if instructions else None
    cycles_est = instructions * cyc.cycles_per_instruction if cyc is not None else None

    figures = estimate_figures(target, flash_bytes=img.flash_bytes, ram_bytes=img.ram_bytes, instructions=instructions,
                               cycles_estimated=cycles_est)
    budget = check(target, figures)
    res = BuildResult(
        target=target.name, model=spec.name, runtime=target.runtime.name, out_dir=out,
        report=out / reportstore.REPORT_NAME, elf=img.elf, kernels=kernels,
        firmware_variant=(fe.variant if fe is not None else "none"),
        flash_bytes=img.flash_bytes, ram_bytes=img.ram_bytes, sizes=img.sizes.as_dict(),
        planned_arena_bytes=cg.arena_bytes, instructions_per_inference=instructions, instructions_unit=unit,
        total_macs=cg.total_macs, latency_ms_estimated=figures.latency_ms,
        energy_per_inference_uj_estimated=figures.energy_per_inference_uj,
        average_power_mw_estimated=figures.average_power_mw, stack_high_water_bytes=stack,
        device_matches_tflm=matches, budget=budget, notes=notes,
        sources=[Path(p) for p in sources], include_dirs=[Path(p) for p in incs], defines=defines,
    )
    if platformio:
        from edgekit.firmware.platformio import export_platformio

        pio = export_platformio(target, sources, incs, defines, out / "platformio")
        notes.append(f"PlatformIO project for a real board: {pio} (fill in src/ek_user_hooks.c, then `pio run -t upload`)")
    res.per_op = per_op_profile(cg.ops, op_counts, last_count)
    if cyc is not None:
        res.cycles_per_inference_estimated = cycles_est
        res.cycles = cyc.to_json()
    res.device_summary = _summary_cost(summary, img.sizes.by_object, instructions)
    reportstore.write_section(out, "build", _section(res, img, cg, fe, time.time() - t0))
    reportstore.write_section(out, "budget", budget.to_json())
    if matches is False:
        raise CheckFailed(f"firmware outputs differ from the tflite-micro interpreter on {spec.name} "
                          f"(see report.json build.notes)")
    if check_budgets:
        budget.raise_if_failed(f"report: {res.report}")
    return res


def _estimate_cycles(cg, target, kernels, x1: np.ndarray, out: Path, progress: Progress, notes: list):
    """Cycles of one inference estimated from its executed instruction mix (edgekit.cycles):
    the same generated code and kernels in a semihosted program, traced on QEMU."""
    from edgekit import cycles
    from edgekit.codegen.selftest import build_batch_elf
    from edgekit.firmware import FirmwareBuildError

    if not cycles.supported(target):
        return None
    _say(progress, f"cycles: tracing one inference's instruction mix ({target.core.cpu} timings)")
    try:
        img = build_batch_elf(cg, target, x1, kernels, out / "cycles")
        return cycles.estimate_elf(img.elf, target)
    except (FirmwareBuildError, RuntimeError, ValueError) as exc:
        notes.append(f"cycle estimate unavailable: {exc}")
        return None


def _check_against_tflm(tflite: Path, x: np.ndarray, results, cg, notes: list) -> Optional[bool]:
    try:
        from edgekit.interpreters import run_tflm

        ref = run_tflm(tflite, x)
    except Exception as exc:  # the reference interpreter is optional for a build
        notes.append(f"device vs tflite-micro not checked: {type(exc).__name__}: {exc}")
        return None
    ref = np.asarray(ref).reshape(len(x), -1)
    dev = np.stack([np.frombuffer(r.output, dtype=ref.dtype) for r in results])
    same = bool(np.array_equal(dev, ref))
    notes.append(f"device outputs {'equal' if same else 'DIFFER from'} the tflite-micro interpreter, "
                 f"bit for bit, on {len(x)} inputs")
    return same


def per_op_profile(ops, counts: list[int], model_count: Optional[int]) -> Optional[dict]:
    """Where the model's time goes, op by op, from the device's per-op counts of one
    inference (model_count: the whole model's count of that inference): the count, its share, and counts per MAC (kernel efficiency) and per byte moved
    (weights read + activations read and written). None when the device sent no counts."""
    if not counts or len(counts) != len(ops):
        return None
    total = sum(counts)
    rows = []
    for op, n in zip(ops, counts):
        moved = op.weights_bytes + op.activation_bytes
        rows.append({"index": op.index, "op": op.op, "output_shape": op.output_shape, "macs": op.macs,
                     "bytes_moved": moved, "count": n, "share": round(n / total, 6) if total else None,
                     "per_mac": round(n / op.macs, 3) if op.macs else None,
                     "per_byte": round(n / moved, 3) if moved else None})
    by_type: dict[str, dict] = {}
    for r in rows:
        t = by_type.setdefault(r["op"], {"ops": 0, "count": 0, "macs": 0})
        t["ops"] += 1
        t["count"] += r["count"]
        t["macs"] += r["macs"]
    for t in by_type.values():
        t["share"] = round(t["count"] / total, 6) if total else None
        t["per_mac"] = round(t["count"] / t["macs"], 3) if t["macs"] else None
    return {"ops": rows, "by_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1]["count"])),
            "sum": total, "model_count": model_count,
            "how": "counted by the emulator (QEMU -icount: instructions, not cycles), one inference; "
                   "on a board, DWT cycles"}


def _summary_defines(cg) -> dict:
    """The on-device summary sized to this model: its classes and input features (the last
    input axis of size > 1, as edgekit.monitor.summary lays them out)."""
    classes = int(np.prod(cg.output_shape)) if cg.output_shape else 1
    features = next((int(d) for d in reversed(cg.input_shape) if int(d) > 1), 1)
    return {"EK_SUMMARY_MAX_CLASSES": f"{max(classes, 1)}u", "EK_SUMMARY_MAX_FEATURES": f"{features}u"}


def _summary_cost(summary, by_object: dict, model_count: Optional[int]) -> Optional[dict]:
    """What the on-device summary (firmware/app/ek_summary.c) costs, measured: its RAM from
    the link map, its instructions on the last inference from the device's timer."""
    if summary is None:
        return None
    ram = sum(v.get("data", 0) + v.get("bss", 0) for k, v in by_object.items() if "ek_summary" in k)
    return {"ram_bytes": ram, "state_bytes": summary.state_bytes, "ram_how": "measured from link (data + bss)",
            "count_per_inference": summary.last_update_count, "inferences_summarised": summary.count,
            "share_of_model": (summary.last_update_count / model_count) if model_count else None,
            "count_how": "counted on the device around each summary update (QEMU -icount: instructions)"}


def _frontend_memory(by_object: dict, sources) -> dict:
    """The frontend's own flash and RAM from the link map, apart from the model's."""
    from edgekit.frontends.user_c import frontend_memory

    return frontend_memory(by_object, sources)


def _section(res: BuildResult, img, cg, fe, seconds: float) -> dict:
    s = img.sizes
    per_mac = (res.instructions_per_inference / res.total_macs) if res.instructions_per_inference and res.total_macs else None
    return {
        "target": res.target, "model": res.model, "runtime": res.runtime, "kernels": res.kernels,
        "board": img.board, "firmware_variant": res.firmware_variant,
        "elf": str(img.elf), "map": str(img.map),
        "flash": {"bytes": s.flash_bytes, "how": "measured from link"},
        "ram": {"bytes": s.ram_bytes, "how": "measured from link (data + bss + arena + stack)"},
        "sections_bytes": {k: getattr(s, k) for k in ("text", "rodata", "data", "bss", "arena", "stack")},
        "by_object_bytes": s.by_object,
        "arena": {"planned_bytes": cg.arena_bytes, "linked_bytes": s.arena},
        "weights_bytes": cg.weights_bytes, "total_macs": cg.total_macs, "model_hash": cg.model_hash,
        "instructions_per_inference": None if res.instructions_per_inference is None else {
            "value": res.instructions_per_inference, "unit": res.instructions_unit, "how": HOW_INSTRUCTIONS},
        "instructions_per_mac": None if per_mac is None else round(per_mac, 4),
        "cycles_per_inference": None if res.cycles is None else {
            **res.cycles, "value": round(res.cycles_per_inference_estimated),
            "how": "instructions per inference x the cycles per instruction of one traced inference's mix"},
        "cycles_per_mac": (round(res.cycles_per_inference_estimated / res.total_macs, 4)
                           if res.cycles_per_inference_estimated and res.total_macs else None),
        "stack_high_water": None if res.stack_high_water_bytes is None else {
            "bytes": res.stack_high_water_bytes, "how": "measured on the emulated device (stack painting)"},
        "latency_ms_estimated": res.latency_ms_estimated,
        "energy_per_inference_uj_estimated": res.energy_per_inference_uj_estimated,
        "average_power_mw_estimated": res.average_power_mw_estimated,
        "estimate_basis": ("cycles (estimated from the executed instruction mix) / clock" if res.cycles is not None
                           else "emulated instructions x cpi / clock") + "; energy from the profile's energy model",
        "device_matches_tflm": res.device_matches_tflm,
        "per_op": res.per_op,
        "device_summary": res.device_summary,
        "frontend": None if fe is None else {"variant": fe.variant, "spec_hash": fe.spec_hash,
                                             **_frontend_memory(s.by_object, fe.sources)},
        "build_seconds": round(seconds, 2),
        "notes": res.notes,
    }
