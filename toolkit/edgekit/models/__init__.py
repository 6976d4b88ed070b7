"""Model descriptions: models/<name>/model.yaml, validated by a schema.

A model folder holds model.yaml (labels, preprocessing spec, architecture, training
settings), the trained float weights and a metrics file. A user's own model needs only a
minimal model.yaml: name, task, labels, preprocessing and weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgekit import resources
from edgekit.errors import UserError
from edgekit.preprocess import PreprocessingSpec
from edgekit.yamlio import read_yaml_mapping, validation_error_line


class Training(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(20, gt=0)
    batch_size: int = Field(64, gt=0)
    learning_rate: float = Field(1e-3, gt=0)
    seed: int = 0
    batchnorm_momentum: float = Field(0.9, gt=0, lt=1)


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    task: Literal["audio-classification", "image-classification", "classification", "regression",
                  "anomaly-detection", "other"] = Field(
        "other", description="what the output means; only classifiers have labels and an accuracy")
    architecture: Optional[str] = Field(None, description="builder name for the reference models")
    labels: list[str] = Field([], description="class names, in output order (classifiers: at least 2)")
    preprocessing: PreprocessingSpec
    dataset: Optional[str] = Field(None, description="dataset generator for the reference models")
    cohort_fields: list[str] = Field([], description="metadata fields that define cohorts")
    weights: str = Field("model.keras", description="trained float weights, relative to model.yaml")
    metrics: str = Field("metrics.json", description="committed metrics, relative to model.yaml")
    training: Training = Training()

    # Set by the loader, not read from YAML.
    folder: Optional[Path] = Field(None, exclude=True)

    @model_validator(mode="after")
    def _classifier_labels(self) -> "ModelSpec":
        if self.is_classifier and len(self.labels) < 2:
            raise ValueError(f"labels: a {self.task} model needs at least 2 labels (one per output class)")
        return self

    @property
    def is_classifier(self) -> bool:
        return self.task.endswith("classification")

    @property
    def weights_path(self) -> Path:
        return self.folder / self.weights

    @property
    def metrics_path(self) -> Path:
        return self.folder / self.metrics

    def load_metrics(self) -> Optional[dict]:
        p = self.metrics_path
        return json.loads(p.read_text()) if p.is_file() else None


def model_yaml_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.name in ("model.yaml", "model.yml") or p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise UserError(f"{p}: model description not found")
        return p
    if p.is_dir() and (p / "model.yaml").is_file():
        return p / "model.yaml"
    candidate = resources.models_dir() / name_or_path / "model.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(list_models()) or "none"
    raise UserError(f"unknown model '{name_or_path}': known models are {known}, "
                    f"or give a folder holding a model.yaml")


def load_model(name_or_path: str) -> ModelSpec:
    path = model_yaml_path(name_or_path)
    raw = read_yaml_mapping(path)
    raw.setdefault("name", path.parent.name)
    try:
        spec = ModelSpec.model_validate(raw)
    except Exception as exc:
        raise UserError(validation_error_line(path, exc)) from None
    return spec.model_copy(update={"folder": path.parent.resolve()})


def list_models() -> list[str]:
    d = resources.models_dir()
    return sorted(p.parent.name for p in d.glob("*/model.yaml")) if d.is_dir() else []


def model_for_file(path: Path | str) -> ModelSpec:
    """The spec of a bare int8 .tflite (`edgekit build --model-file`), with no model.yaml: named
    after the file, task `other`, its input taken as is (preprocessing kind `tensor`)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: model file not found")
    if p.suffix != ".tflite":
        raise UserError(f"{p}: without --model, --model-file must be an int8 .tflite (a float model needs a "
                        f"model.yaml with its preprocessing and calibration data: `edgekit convert --model ...`)")
    from edgekit.codegen.tflite_reader import read_tflite

    g = read_tflite(p)  # strict: a malformed file is one line naming the field, never a crash
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise UserError(f"{p}: the model has {len(g.inputs)} inputs and {len(g.outputs)} outputs; "
                        f"edgekit builds single-input, single-output models")
    shape = g.tensors[g.inputs[0]].shape
    if len(shape) < 2 or shape[0] != 1:
        raise UserError(f"{p}: input shape {list(shape)}: export the model with batch size 1")
    spec = ModelSpec(name=p.stem, description=f"{p.name} (no model.yaml)", task="other", weights=p.name,
                     preprocessing={"kind": "tensor", "shape": list(shape[1:])})
    return spec.model_copy(update={"folder": p.parent.resolve()})
