"""Training the reference models from their prepared data (float32, Keras).

`train(spec)` reads the prepared dataset's train/val/test splits through the reference
preprocessing (edgekit.data.split_arrays), builds the architecture named by model.yaml
`architecture:`, trains with the architecture's augmentation and fixed seeds, keeps the
weights of the best validation epoch, and writes:

- spec.weights_path (Keras .keras), and
- spec.metrics_path (metrics.json): accuracy on the held-out test split, overall and per
  cohort, the data hash, training time, epochs and seed.

Both are written to a temporary file first and renamed, so an interrupted run never leaves
weights that look trained.
"""

from __future__ import annotations

import importlib
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from edgekit.errors import UserError

if TYPE_CHECKING:
    from edgekit.models import ModelSpec

Progress = Callable[[str, int, int], None]

# model.yaml `architecture:` -> module with build(input_shape, n_classes, bn_momentum) and
# optionally augment(x_batch, rng).
ARCHITECTURES = {
    "ds-cnn": "edgekit.train.arch_dscnn",
    "mobilenetv2-0.35": "edgekit.train.arch_mobilenetv2",
}


@dataclass
class TrainResult:
    model: str
    weights_path: Path
    metrics_path: Path
    accuracy: float  # float top-1 on the held-out test split, measured
    n: int
    val_accuracy: float
    per_cohort: dict = field(default_factory=dict)
    per_label: dict = field(default_factory=dict)
    epochs: int = 0
    best_epoch: int = 0
    seed: int = 0
    train_seconds: float = 0.0
    params: int = 0
    data_hash: str = ""
    history: dict = field(default_factory=dict)


def architecture_module(name: Optional[str]):
    if not name or name not in ARCHITECTURES:
        known = ", ".join(ARCHITECTURES)
        raise UserError(f"model.yaml architecture: '{name}' is not a reference architecture ({known}); "
                        f"`edgekit train` trains only those")
    return importlib.import_module(ARCHITECTURES[name])


def per_cohort_accuracy(correct: np.ndarray, records, fields: list[str]) -> dict:
    """{field: {value: {"n", "accuracy"}}} over the records, values sorted (edgekit.stats)."""
    from edgekit.stats import per_cohort_accuracy as table

    return table(correct, [r.cohort for r in records], fields)


def _save_keras_atomic(model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp-", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.chmod(tmp, 0o644)  # committed file: mkstemp's 0600 would surprise the next user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def train(spec: "ModelSpec", epochs: Optional[int] = None, seed: Optional[int] = None,
          progress: Optional[Progress] = None, limit: Optional[int] = None,
          weights_path: Optional[Path] = None, metrics_path: Optional[Path] = None) -> TrainResult:
    """Train spec's reference architecture on its prepared data; see the module docstring.

    `limit` caps samples per split (smoke runs); `weights_path`/`metrics_path` override where
    the results go (default: the model folder, i.e. the committed files).
    """
    from edgekit import data as data_lib
    from edgekit.reportstore import write_json_atomic

    arch = architecture_module(spec.architecture)
    cfg = spec.training
    epochs = int(epochs if epochs is not None else cfg.epochs)
    seed = int(seed if seed is not None else cfg.seed)
    if epochs <= 0:
        raise UserError(f"--epochs {epochs}: must be at least 1")
    weights_path = Path(weights_path or spec.weights_path)
    metrics_path = Path(metrics_path or spec.metrics_path)

    ds = data_lib.load_dataset(spec)
    Xtr, ytr, _ = data_lib.split_arrays(spec, "train", limit=limit, progress=progress)
    Xva, yva, _ = data_lib.split_arrays(spec, "val", limit=limit, progress=progress)
    Xte, yte, rte = data_lib.split_arrays(spec, "test", limit=limit, progress=progress)
    for name, X in (("train", Xtr), ("val", Xva), ("test", Xte)):
        if len(X) == 0:
            raise UserError(f"{ds.root}: the {name} split is empty; prepare the dataset with more samples")

    import keras

    keras.utils.set_random_seed(seed)
    model = arch.build(tuple(spec.preprocessing.output_shape), len(spec.labels), cfg.batchnorm_momentum)
    steps_per_epoch = max(1, math.ceil(len(Xtr) / cfg.batch_size))
    # Cosine decay to zero: short runs end at a low learning rate, so the last epochs settle
    # the BatchNorm statistics and the weights together.
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=epochs * steps_per_epoch,
                                                       alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])

    augment = getattr(arch, "augment", None)
    rng = np.random.default_rng(seed)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.order = rng.permutation(len(Xtr))

        def __len__(self):
            return steps_per_epoch

        def __getitem__(self, i):
            idx = self.order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            xb = Xtr[idx]
            if augment is not None:
                xb = augment(xb, rng)
            return xb, ytr[idx]

        def on_epoch_end(self):
            self.order = rng.permutation(len(Xtr))

    best = {"acc": -1.0, "epoch": 0, "weights": None}
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_accuracy": []}

    class Track(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            va = float(logs.get("val_accuracy", 0.0))
            history["loss"].append(float(logs.get("loss", 0.0)))
            history["accuracy"].append(float(logs.get("accuracy", 0.0)))
            history["val_accuracy"].append(va)
            if va > best["acc"]:
                best.update(acc=va, epoch=epoch + 1, weights=self.model.get_weights())
            if progress is not None:
                progress(f"training (val {100 * va:.1f}%)", epoch + 1, epochs)

    t0 = time.monotonic()
    model.fit(Batches(), validation_data=(Xva, yva), epochs=epochs, verbose=0, callbacks=[Track()])
    train_seconds = time.monotonic() - t0
    model.set_weights(best["weights"])

    pred = np.argmax(model.predict(Xte, batch_size=256, verbose=0), axis=-1)
    correct = pred == yte
    accuracy = float(np.mean(correct))
    per_cohort = per_cohort_accuracy(correct, rte, list(spec.cohort_fields))
    per_label = {lab: {"n": int(np.sum(yte == i)),
                       "accuracy": float(np.mean(correct[yte == i])) if np.any(yte == i) else None}
                 for i, lab in enumerate(spec.labels)}
    metrics = {
        "accuracy": accuracy, "n": int(len(yte)), "split": "test", "how": "measured, float32 Keras on the host",
        "val_accuracy": float(best["acc"]), "per_cohort": per_cohort, "per_label": per_label,
        "data_hash": ds.data_hash, "train_seconds": round(train_seconds, 1), "epochs": epochs,
        "best_epoch": best["epoch"], "seed": seed, "params": int(model.count_params()),
        "architecture": spec.architecture, "batchnorm_momentum": cfg.batchnorm_momentum,
        "limit_per_split": limit,
    }
    if hasattr(arch, "macs"):
        metrics["macs"] = int(arch.macs(tuple(spec.preprocessing.output_shape), len(spec.labels)))
    _save_keras_atomic(model, weights_path)
    write_json_atomic(metrics_path, metrics)
    os.chmod(metrics_path, 0o644)
    return TrainResult(model=spec.name, weights_path=weights_path, metrics_path=metrics_path,
                       accuracy=accuracy, n=int(len(yte)), val_accuracy=float(best["acc"]),
                       per_cohort=per_cohort, per_label=per_label, epochs=epochs, best_epoch=best["epoch"],
                       seed=seed, train_seconds=train_seconds, params=int(model.count_params()),
                       data_hash=ds.data_hash, history=history)
