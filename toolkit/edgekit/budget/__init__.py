"""Budgets: flash, RAM, latency, energy and average power against the target profile.

    figures = estimate_figures(target, flash_bytes=..., ram_bytes=..., instructions=...)
    result = check(target, figures)       # BudgetResult; result.raise_if_failed() -> CheckFailed

Flash and RAM come from the link (measured). Latency under QEMU is an estimate: emulated
instructions x the profile's cycles-per-instruction at its clock; on a board, measured
cycles / clock. Energy per inference and average power at the profile's inference rate are
estimates from the profile's energy model (active power while inferring, sleep otherwise).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from edgekit.errors import CheckFailed
from edgekit.targets.schema import TargetProfile

HOW_LINK = "measured from link"
HOW_EMULATED = "estimated from emulated instructions x cpi / clock"
HOW_CYCLES = "measured cycles on the board / clock"
HOW_CYCLES_ESTIMATED = "estimated: cycles (estimated from the executed instruction mix, edgekit.cycles) / clock"
HOW_ENERGY = "estimated from the profile's energy model"


@dataclass(frozen=True)
class Figures:
    """What a build or an evaluation found. None: not known (the row is skipped)."""

    flash_bytes: Optional[int] = None
    ram_bytes: Optional[int] = None
    latency_ms: Optional[float] = None
    energy_per_inference_uj: Optional[float] = None
    average_power_mw: Optional[float] = None
    flash_how: str = HOW_LINK
    ram_how: str = HOW_LINK
    latency_how: str = HOW_EMULATED
    energy_how: str = HOW_ENERGY
    latency_label: str = "latency (estimated)"


@dataclass(frozen=True)
class BudgetRow:
    name: str
    value: float
    budget: float
    margin: float           # budget - value, in `unit`; negative when over budget
    unit: str
    how: str
    passed: bool

    @property
    def margin_pct(self) -> float:
        return 100.0 * self.margin / self.budget if self.budget else 0.0


@dataclass(frozen=True)
class BudgetResult:
    target: str
    rows: list[BudgetRow] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def failed_rows(self) -> list[BudgetRow]:
        return [r for r in self.rows if not r.passed]

    def table(self, only_failed: bool = False) -> list[dict]:
        rows = self.failed_rows if only_failed else self.rows
        return [{"budget": r.name, "value": f"{_num(r.value)} {r.unit}", "limit": f"{_num(r.budget)} {r.unit}",
                 "margin": f"{'+' if r.margin >= 0 else '-'}{_num(abs(r.margin))} {r.unit} ({r.margin_pct:+.1f}%)", "how": r.how,
                 "result": "pass" if r.passed else "FAIL"} for r in rows]

    def to_json(self) -> dict:
        return {"target": self.target, "passed": self.passed,
                "rows": [{**asdict(r), "margin_pct": round(r.margin_pct, 2)} for r in self.rows]}

    def message(self) -> str:
        parts = [f"{r.name} {_num(r.value)} {r.unit} > {_num(r.budget)} {r.unit} (over by {_num(-r.margin)} {r.unit}, "
                 f"{-r.margin_pct:.0f}%)" for r in self.failed_rows]
        return f"over budget on target {self.target}: " + "; ".join(parts)

    def raise_if_failed(self, context: str = "") -> None:
        if not self.passed:
            msg = self.message() + (f" [{context}]" if context else "")
            raise CheckFailed(msg, self.table(only_failed=False))


def _num(v: float) -> str:
    """One decimal, no trailing .0: 493.2, 384, 0.05 (small values keep 3 significant digits)."""
    if v != 0 and abs(v) < 1:
        return f"{v:.3g}"
    return f"{v:.1f}".rstrip("0").rstrip(".")


def latency_from_instructions(target: TargetProfile, instructions: float) -> float:
    """Estimated latency in ms: emulated instructions x cpi / clock."""
    return instructions * target.core.cpi / (target.clock_mhz * 1e6) * 1e3


def latency_from_cycles(target: TargetProfile, cycles: float) -> float:
    return cycles / (target.clock_mhz * 1e6) * 1e3


def energy_per_inference_uj(target: TargetProfile, latency_ms: float) -> float:
    """Estimated: active power for the inference's duration (mW x ms = uJ)."""
    return target.active_power_mw() * latency_ms


def average_power_mw(target: TargetProfile, latency_ms: float, rate_hz: Optional[float] = None) -> float:
    """Estimated average power at `rate_hz` inferences per second (the profile's by default):
    active for the inference's share of each period, asleep for the rest."""
    rate = rate_hz if rate_hz is not None else target.budgets.inference_rate_hz
    duty = min(1.0, latency_ms / 1e3 * rate)
    return target.active_power_mw() * duty + target.energy.sleep_power_mw() * (1.0 - duty)


def estimate_figures(target: TargetProfile, *, flash_bytes: Optional[int] = None, ram_bytes: Optional[int] = None,
                     instructions: Optional[float] = None, cycles: Optional[float] = None,
                     cycles_estimated: Optional[float] = None) -> Figures:
    """Figures from link sizes and measured cycles, else cycles estimated from the executed
    instruction mix, else emulated instructions (QEMU) x the profile's cpi."""
    latency = how = None
    if cycles is not None:
        latency, how = latency_from_cycles(target, cycles), HOW_CYCLES
    elif cycles_estimated is not None:
        latency, how = latency_from_cycles(target, cycles_estimated), HOW_CYCLES_ESTIMATED
    elif instructions is not None:
        latency, how = latency_from_instructions(target, instructions), HOW_EMULATED
    return Figures(
        flash_bytes=flash_bytes, ram_bytes=ram_bytes, latency_ms=latency,
        energy_per_inference_uj=energy_per_inference_uj(target, latency) if latency is not None else None,
        average_power_mw=average_power_mw(target, latency) if latency is not None else None,
        latency_how=how or HOW_EMULATED,
        latency_label="latency (measured)" if cycles is not None else "latency (estimated)",
    )


def check(target: TargetProfile, figures: Figures) -> BudgetResult:
    """One row per known figure against the profile's budgets (value <= budget passes)."""
    b = target.budgets
    rows: list[BudgetRow] = []

    def add(name, value, budget, unit, how):
        if value is None:
            return
        rows.append(BudgetRow(name, float(value), float(budget), float(budget) - float(value), unit, how,
                              float(value) <= float(budget)))

    kb = lambda n: None if n is None else n / 1024.0  # noqa: E731
    add("flash", kb(figures.flash_bytes), b.flash_kb, "KB", figures.flash_how)
    add("RAM", kb(figures.ram_bytes), b.ram_kb, "KB", figures.ram_how)
    add(figures.latency_label, figures.latency_ms, b.latency_p99_ms, "ms", figures.latency_how)
    add("energy per inference (estimated)", figures.energy_per_inference_uj, b.energy_per_inference_uj, "uJ",
        figures.energy_how)
    add(f"average power at {b.inference_rate_hz:g} Hz (estimated)", figures.average_power_mw, b.average_power_mw,
        "mW", figures.energy_how)
    return BudgetResult(target=target.name, rows=rows)
