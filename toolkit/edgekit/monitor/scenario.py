"""Fleet scenarios as data: models/<model>/scenarios/<name>.yaml (docs/ARCHITECTURE.md, monitor).

A scenario is a fleet (device models with the dataset cohort their hardware stands for,
regions, the shipping firmware) and events over the simulated days:

- rollout: a firmware version (a firmware variant of models/<m>/firmware_variants.yaml)
  reaches `share` of one device model's devices, each on a day spread over `over_days`;
- mix: the world changes: the sampling weight of a dataset cohort's values moves linearly
  from the test split's own mix (weight 1) to `weights` between from_day and to_day, for
  the devices selected (the samples a device sees, not anything it reports);
- degrade: a registered sensor degradation (edgekit.monitor.degradations) grows on `share`
  of one device model's devices from start_day to full over `over_days`, in `levels` steps.

Unknown keys are errors, so a typo in a scenario is named, not ignored.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgekit.errors import UserError
from edgekit.yamlio import read_yaml_mapping, validation_error_line

SCENARIOS_DIR = "scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceModel(_Strict):
    share: float = Field(gt=0)
    dataset: dict[str, str] = Field(default_factory=dict,
                                    description="dataset cohort values this hardware stands for, e.g. mic: telephone")


class Rollout(_Strict):
    kind: Literal["rollout"]
    firmware: str
    variant: str = Field(description="the firmware variant this version ships (models/<m>/firmware_variants.yaml)")
    device_model: str
    share: float = Field(gt=0, le=1)
    start_day: int = Field(ge=0)
    over_days: int = Field(ge=1)


class Mix(_Strict):
    kind: Literal["mix"]
    field: str = Field(description="a dataset cohort field, e.g. snr_db or lighting")
    weights: dict[str, float] = Field(description="the weight of each value at to_day (others keep 1)")
    from_day: int = Field(ge=0)
    to_day: int = Field(ge=1)
    where: dict[str, str] = Field(default_factory=dict, description="device cohort filter, e.g. region: eu")
    periodic: bool = Field(False, description="back to the start at 2*to_day-from_day (a season)")

    @model_validator(mode="after")
    def _days(self) -> "Mix":
        if self.to_day <= self.from_day:
            raise ValueError("to_day must be after from_day")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must be >= 0")
        return self


class Degrade(_Strict):
    kind: Literal["degrade"]
    degradation: str
    device_model: str
    share: float = Field(gt=0, le=1)
    start_day: int = Field(ge=0)
    over_days: int = Field(ge=1)
    levels: int = Field(4, ge=1, le=8)


Event = Union[Rollout, Mix, Degrade]


class Scenario(_Strict):
    name: str
    model: str
    description: str
    devices: int = Field(2000, ge=1, le=1_000_000)
    days: int = Field(60, ge=1, le=3650)
    start: date = date(2026, 1, 5)
    inferences_per_day: float = Field(40, gt=0, le=100_000)
    labelled_share: float = Field(0.2, ge=0, le=1, description="share of device-days that report labelled samples")
    labelled_per_window: int = Field(2, ge=0, le=32)
    device_models: dict[str, DeviceModel]
    regions: dict[str, float] = Field(default_factory=lambda: {"eu": 0.5, "us": 0.3, "apac": 0.2})
    firmware: str = "v1"
    app_version: str = "1.4.0"
    report_dataset_fields: list[str] = Field(default_factory=list,
                                             description="dataset fields devices report in their cohort (their hardware)")
    events: list[Event] = Field(default_factory=list)
    expect: dict[str, str] = Field(default_factory=dict,
                                   description="what a check should find, cohort -> skew|drift (benchmarks read it)")
    seed: int = 0


def scenarios_dir(model_spec) -> Path:
    return Path(model_spec.folder) / SCENARIOS_DIR


def list_scenarios(model_spec) -> list[str]:
    d = scenarios_dir(model_spec)
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def load_scenario(model_spec, name_or_path: str) -> Scenario:
    """A scenario by name (models/<m>/scenarios/NAME.yaml) or path, checked against the model."""
    from edgekit.frontends import load_variants
    from edgekit.monitor import degradations

    p = Path(name_or_path)
    path = p if p.suffix in (".yaml", ".yml") else scenarios_dir(model_spec) / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(list_scenarios(model_spec)) or "none"
        raise UserError(f"scenario '{name_or_path}': no file {path}; known for {model_spec.name}: {known}")
    try:
        sc = Scenario.model_validate(read_yaml_mapping(path))
    except UserError:
        raise
    except Exception as exc:
        raise UserError(validation_error_line(path, exc)) from None
    if sc.model != model_spec.name:
        raise UserError(f"{path}: model: {sc.model!r}, but this is a scenario for --model {model_spec.name}")
    fields = set(model_spec.cohort_fields)
    variants = load_variants(model_spec)
    for name, dm in sc.device_models.items():
        for f in dm.dataset:
            if f not in fields:
                raise UserError(f"{path}: device_models.{name}.dataset.{f}: not a cohort field of {model_spec.name} "
                                f"({', '.join(sorted(fields))})")
    for f in sc.report_dataset_fields:
        if f not in fields:
            raise UserError(f"{path}: report_dataset_fields: {f!r} is not a cohort field of {model_spec.name}")
    for i, ev in enumerate(sc.events):
        where = f"{path}: events[{i}]"
        dm = getattr(ev, "device_model", None)
        if dm is not None and dm not in sc.device_models:
            raise UserError(f"{where}.device_model: {dm!r} is not one of device_models ({', '.join(sc.device_models)})")
        if isinstance(ev, Rollout) and ev.variant not in variants:
            raise UserError(f"{where}.variant: {ev.variant!r} is not a firmware variant of {model_spec.name} "
                            f"({', '.join(variants)})")
        if isinstance(ev, Mix) and ev.field not in fields:
            raise UserError(f"{where}.field: {ev.field!r} is not a cohort field of {model_spec.name}")
        if isinstance(ev, Degrade) and ev.degradation not in degradations.kinds():
            raise UserError(f"{where}.degradation: {ev.degradation!r}: known kinds {', '.join(degradations.kinds())}")
    return sc


