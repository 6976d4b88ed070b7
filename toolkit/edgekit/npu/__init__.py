"""NPU targets: Ethos-U through Vela (`vela.py`) and Snapdragon HTP through ONNX Runtime QNN
(`qnn.py`). Both return an `NpuBuildResult` and write the report section "npu".

Every figure carries how it was obtained: "measured" (file sizes of the compiled artefacts),
"estimated by Vela" (its performance model), or "estimated (roofline)". Nothing here is
measured on NPU silicon: there is none on this machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from edgekit import budget
from edgekit.budget import BudgetResult, BudgetRow
from edgekit.targets.schema import TargetProfile

SECTION = "npu"


@dataclass
class OpPlacement:
    """Where one operator of the compiled model runs."""

    op_type: str
    name: str
    on_npu: bool
    reason: str = ""


@dataclass
class NpuBuildResult:
    target: str
    model: str
    runtime: str  # "vela" | "onnxruntime-qnn"
    out_dir: Path
    artefacts: dict[str, Path]  # role -> file (e.g. "qdq_model", "context_SM8650", "vela_tflite")
    ops_total: int
    ops_on_npu: int
    cpu_ops: list[OpPlacement]  # the operators that do NOT run on the NPU (empty when all do)
    # Budget figures: flash_kb, ram_kb, latency_ms, energy_uj, average_power_mw.
    figures: dict[str, float]
    figures_how: dict[str, str]  # figure name -> how it was obtained ("measured ...", "estimated ...")
    budget: BudgetResult  # edgekit.budget.check on the figures: the same gate as the MCU path
    accuracy_source: str  # where accuracy figures for this target come from
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # runtime-specific tables
    report_path: Optional[Path] = None

    @property
    def all_on_npu(self) -> bool:
        return self.ops_total > 0 and self.ops_on_npu == self.ops_total and not self.cpu_ops

    @property
    def budget_rows(self) -> list[BudgetRow]:
        return self.budget.rows

    @property
    def budgets_passed(self) -> bool:
        return self.budget.passed


def budget_figures(target: TargetProfile, *, flash_bytes: int, ram_bytes: int, latency_ms: float,
                   how: dict[str, str], latency_label: str) -> tuple[dict[str, float], dict[str, str], BudgetResult]:
    """The NPU build's figures, with energy and average power from the profile's energy model
    (edgekit.budget's formulas), and their check against the profile's budgets."""
    energy = budget.energy_per_inference_uj(target, latency_ms)
    power = budget.average_power_mw(target, latency_ms)
    figures = {"flash_kb": flash_bytes / 1024, "ram_kb": ram_bytes / 1024, "latency_ms": latency_ms,
               "energy_uj": energy, "average_power_mw": power}
    how = {**how,
           "energy_uj": f"estimated ({target.active_power_mw():g} mW active x the latency estimate)",
           "average_power_mw": f"estimated (at {target.budgets.inference_rate_hz:g} inferences/s, "
                               f"sleep power between)"}
    result = budget.check(target, budget.Figures(
        flash_bytes=flash_bytes, ram_bytes=ram_bytes, latency_ms=latency_ms,
        energy_per_inference_uj=energy, average_power_mw=power,
        flash_how=how["flash_kb"], ram_how=how["ram_kb"], latency_how=how["latency_ms"],
        energy_how=how["energy_uj"], latency_label=latency_label))
    return figures, how, result


def write_report(result: NpuBuildResult) -> Path:
    """The report section "npu" for a build, then report.html and junit.xml from report.json.
    (Its evaluation is the report's "eval" section, as for every target.)"""
    from edgekit import reportstore
    from edgekit.report import write_reports

    section = asdict(result)
    section.pop("report_path", None)
    section["all_on_npu"] = result.all_on_npu
    section["budgets_passed"] = result.budgets_passed
    section["budget"] = result.budget.to_json()
    path = reportstore.write_section(result.out_dir, SECTION, section)
    write_reports(result.out_dir)
    return path


def check_budgets(result: NpuBuildResult) -> None:
    """The budget gate for NPU builds: CheckFailed listing the rows over budget."""
    result.budget.raise_if_failed(f"{result.runtime} build of {result.model}")


def say(progress, msg: str) -> None:
    """Report a step to an NPU stage's progress(message) callback, when there is one."""
    if progress is not None:
        progress(msg)
