"""What every runtime backend is and returns (docs/ARCHITECTURE.md, "Runtime backends").

A backend is a class derived from RuntimeBackend, registered in edgekit.runtimes under the
name target profiles give in `runtime.name`. Its class attributes say what it can do; the
stages read them instead of comparing runtime names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

from edgekit.errors import UserError

# progress(description, done, total), as everywhere in edgekit
Progress = Optional[Callable[[str, int, int], None]]


def say(progress: Progress, msg: str, i: int = 0, n: int = 0) -> None:
    if progress:
        progress(msg, i, n)


@dataclass
class BuildResult:
    """What `edgekit build` returns for every runtime (the report sections hold the rest)."""

    target: str
    model: str
    runtime: str
    out_dir: Path
    report: Path
    elf: Optional[Path] = None
    kernels: Optional[str] = None
    firmware_variant: Optional[str] = None
    flash_bytes: Optional[int] = None
    ram_bytes: Optional[int] = None
    sizes: dict = field(default_factory=dict)
    planned_arena_bytes: Optional[int] = None
    instructions_per_inference: Optional[int] = None
    instructions_unit: str = "instructions (emulated)"
    total_macs: Optional[int] = None
    latency_ms_estimated: Optional[float] = None
    energy_per_inference_uj_estimated: Optional[float] = None
    average_power_mw_estimated: Optional[float] = None
    stack_high_water_bytes: Optional[int] = None
    device_matches_tflm: Optional[bool] = None
    budget: Any = None             # edgekit.budget.BudgetResult
    npu: Any = None                # edgekit.npu.NpuBuildResult for an NPU runtime
    notes: list[str] = field(default_factory=list)
    # What the firmware was compiled from (for exports such as PlatformIO).
    sources: list[Path] = field(default_factory=list)
    include_dirs: list[Path] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)
    per_op: Optional[dict] = None   # where the model's instructions go (edgekit-micro)
    device_summary: Optional[dict] = None  # the on-device summary's measured cost (edgekit monitor)
    # edgekit.cycles: "cycles (estimated from the executed instruction mix)" per inference
    cycles_per_inference_estimated: Optional[float] = None
    cycles: Optional[dict] = None   # CycleEstimate.to_json() of the traced inference


class RuntimeBackend:
    """One runtime a target profile can name. Subclass, set the class attributes, implement
    build(), and register the class (edgekit.runtimes.register)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # What `edgekit build` makes, in words (shown by `edgekit targets show`).
    builds: ClassVar[str] = ""
    # The model file the backend compiles: "model_int8.tflite" or "model_qdq.onnx".
    model_file: ClassVar[str] = "model_int8.tflite"
    # Whether `edgekit eval` can run this runtime's compiled model (see evaluation_note otherwise).
    evaluates: ClassVar[bool] = False
    # Why not, when it cannot: one line, with {model} and {target} filled in.
    evaluation_note: ClassVar[str] = ""
    # Whether firmware for it carries an on-device preprocessing frontend (firmware variants,
    # --cohort-firmware, the device end-to-end path).
    on_device_frontend: ClassVar[bool] = False
    # The npu kinds a profile of this runtime needs (empty: no NPU), and whether it needs a core.
    npu_kinds: ClassVar[tuple[str, ...]] = ()
    needs_core: ClassVar[bool] = True

    def check_target(self, target) -> None:
        """UserError naming the profile field when `target` cannot use this runtime."""
        if self.npu_kinds and (target.npu is None or target.npu.kind not in self.npu_kinds):
            raise UserError(f"target {target.name}: npu: runtime '{self.name}' needs an npu of kind "
                            f"{' or '.join(self.npu_kinds)}")
        if self.needs_core and target.core is None:
            raise UserError(f"target {target.name}: core: required field is missing "
                            f"(runtime '{self.name}' runs on the CPU)")
        from edgekit.convert.opcheck import check_profile_activations  # runtimes -> convert already

        check_profile_activations(target)

    def check_can_evaluate(self, spec, target) -> None:
        if not self.evaluates:
            raise UserError(self.evaluation_note.format(model=spec.name, target=target.name))

    def eval_source(self, spec, target, directory: Path, build: Callable[[], None]):
        """How `edgekit eval` runs this runtime's model. None (the default): its build is
        firmware, which the harness builds and runs on a --device kind (QEMU, a board).
        Otherwise an object whose device is a host session (the QNN HTP emulator:
        npu.qnn_eval.QnnEvalSource), which the harness runs through the same records, summary,
        report and gates (its methods: harness.evaluate, "host sessions"). `directory` is the
        stage folder; `build()` runs `edgekit build` there, for when its artefacts are missing."""
        return None

    def build(self, spec, target, out: Path, *, progress: Progress = None, check_budgets: bool = True,
              **options) -> BuildResult:
        raise NotImplementedError


def npu_build(stage_build, spec, target, out: Path, progress: Progress, check_budgets: bool) -> BuildResult:
    """An NPU stage's build (edgekit.npu.vela / .qnn) as a BuildResult, with the same report
    contract and budget gate as the firmware path."""
    from edgekit import reportstore

    npu = stage_build(spec, target, out, progress=(lambda msg: say(progress, msg)) if progress else None)
    res = BuildResult(target.name, spec.name, target.runtime.name, out, out / reportstore.REPORT_NAME,
                      budget=npu.budget, npu=npu, notes=list(npu.notes))
    reportstore.write_section(out, "budget", npu.budget.to_json())
    if check_budgets:
        npu.budget.raise_if_failed(f"report: {res.report}")
    return res
