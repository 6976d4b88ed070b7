"""The versioned schema of report.json's "eval" section (schema "edgekit.eval", version 1).

report.json is the machine contract CI and later stages read; `validate_eval` checks a
section against this schema, and tests validate every report the harness writes. Extra
keys are allowed (a later version may add them); missing or mistyped ones are errors.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from edgekit.errors import UserError

# The section's name and version: the report owns its format; the harness writes it.
EVAL_SCHEMA = "edgekit.eval"
EVAL_SCHEMA_VERSION = 1


class _M(BaseModel):
    model_config = ConfigDict(extra="allow")


class PathStatus(_M):
    description: str
    status: Literal["ok", "partial", "unavailable", "failed", "absent"]
    n_ok: int = Field(ge=0)
    errors: dict[str, int]
    reason: Optional[str] = None
    n: Optional[int] = None
    accuracy: Optional[float] = Field(None, ge=0, le=1)
    ci_low: Optional[float] = Field(None, ge=0, le=1)
    ci_high: Optional[float] = Field(None, ge=0, le=1)


class Accuracy(_M):
    field: str
    value: str
    path: str
    n: int = Field(gt=0)
    correct: int = Field(ge=0)
    accuracy: float = Field(ge=0, le=1)
    ci_low: float = Field(ge=0, le=1)
    ci_high: float = Field(ge=0, le=1)


class Comparison(_M):
    field: str
    value: str
    reference: str
    path: str
    n: int
    accuracy_reference: float
    accuracy_path: float
    difference: float = Field(ge=-1, le=1)
    diff_ci_low: float
    diff_ci_high: float
    b: int
    c: int
    p_value: float = Field(ge=0, le=1)
    test: str
    significant: bool
    flagged: bool


class Flagged(_M):
    field: str
    value: str
    path: str
    difference: float
    p_value: float
    stage: Literal["quantization", "kernels", "preprocessing", "unexplained"]


class Latency(_M):
    n: int
    unit: str
    how: str
    p50: float
    p90: float
    p99: float
    max: float
    time_how: str = Field(pattern=r"^(estimated|measured)")
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    histogram: dict


class Budget(_M):
    name: str
    value: float
    budget: float
    margin: float
    unit: str
    how: str
    passed: bool


class Gate(_M):
    gate: str
    subject: str
    passed: bool
    detail: str


class EvalSection(_M):
    schema_: Literal["edgekit.eval"] = Field(alias="schema")
    version: int
    target: str
    model: str
    labels: list[str]
    device: dict
    samples: dict
    device_path: Optional[str]
    cohort_fields: list[str]
    combinations: list[list[str]]
    paths: dict[str, PathStatus]
    accuracy: list[Accuracy]
    comparisons: list[Comparison]
    flagged: list[Flagged]
    attribution: list[dict]
    bit_exact: dict
    latency: dict[str, Optional[Latency]]
    energy: Optional[dict]
    budgets: list[Budget]
    confusion: Optional[dict]
    gates: list[Gate]


def validate_eval(section: dict, where: str = "report.json") -> EvalSection:
    if section.get("schema") != EVAL_SCHEMA:
        raise UserError(f"{where}: eval: not an edgekit eval section; run `edgekit eval` to write one")
    if section.get("version") != EVAL_SCHEMA_VERSION:
        raise UserError(f"{where}: eval: schema version {section.get('version')} but this edgekit reads "
                        f"version {EVAL_SCHEMA_VERSION}; run `edgekit eval` again")
    try:
        return EvalSection.model_validate(section)
    except Exception as exc:
        first = str(exc).splitlines()
        raise UserError(f"{where}: eval: does not match schema {EVAL_SCHEMA} v{EVAL_SCHEMA_VERSION}: "
                        f"{' '.join(first[1:3]) if len(first) > 2 else first[0]}; run `edgekit eval` again") from None


def json_schema() -> dict:
    return EvalSection.model_json_schema(by_alias=True)
