"""How `edgekit eval` runs a Snapdragon HTP target: the QNN HTP emulator is the device, the same
QDQ model on ONNX Runtime's CPU provider its int8 host reference (docs/ARCHITECTURE.md,
"Runtime backends").

The runtime backend (runtimes/onnxruntime_qnn.py) hands the harness a QnnEvalSource; the
harness (harness.evaluate) runs it like any device: the same per-sample records, resume,
summary (edgekit.stats), report sections and gates as firmware on QEMU or a board. What is
particular to this runtime is here: the paths' scores, the emulator session, and the
tolerance the device is held to (its int8 arithmetic is not bit-exact with the CPU's, by
design, so the gate is a tolerance against the int8 host reference, report.gates).

Paths, in the harness's names: float (model_float.onnx on the CPU provider), int8_host
(model_qdq.onnx on the CPU provider), device_features (the HTP emulator running the context
model compiled for the profile's SoC), and the side path int8_litert_ref (the converter's
int8 .tflite on LiteRT's reference kernels) for the agreement figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from edgekit.errors import UserError
from edgekit.fileio import sha256_file
from edgekit.npu.qnn import _check_target, compare_outputs
from edgekit.npu.qnn_ep import cpu_session, htp_session, run_session
from edgekit.targets.schema import TargetProfile

DEVICE = "htp-emulator"
# The HTP is held to the int8 host reference within this many accuracy points, per cohort
# and overall (report.gates.tolerance_rows).
TOLERANCE_POINTS = 1.0
# A side path: scored into the records for the agreement figures, not a stage of its own.
LITERT_PATH = "int8_litert_ref"


def device_artefact(out_dir: Path, target: TargetProfile) -> Optional[Path]:
    """The context model compiled for the profile's own part (part.name names the SoC), else
    for its first SoC: what would ship to the phone, so it is what the emulator runs."""
    socs = list(target.npu.socs)
    named = [s for s in socs if s in target.part.name]
    for soc in named + socs:
        p = Path(out_dir) / f"model_ctx_{soc}.onnx"
        if p.is_file():
            return p
    return None


def _litert_ref(tflite: Path, x: np.ndarray) -> Optional[np.ndarray]:
    """Scores of the converter's int8 .tflite under LiteRT's reference kernels (the project's
    int8 host reference), or None if the converter stage is not installed."""
    try:
        from edgekit.interpreters import io_quant, run_litert_ref
    except ImportError:
        return None
    qin, qout = io_quant(tflite)
    return qout.dequantize(run_litert_ref(tflite, qin.quantize(x)))


class HtpEmulatorSession:
    """The HTP emulator as a harness device session (the methods harness.runner calls): one
    ONNX Runtime session on the QNN EP's HTP backend, CPU fallback disabled, fed float32
    features. It has no counters: the latency of an HTP target is the build's roofline
    estimate, not a measurement."""

    def __init__(self, model: Path, input_shape: Sequence[int]):
        self._session = htp_session(model)
        self._shape = tuple(input_shape)

    def infer_batch(self, inputs: list[bytes], kind: str) -> list[np.ndarray]:
        x = np.stack([np.frombuffer(b, np.float32).reshape(self._shape) for b in inputs])
        return list(run_session(self._session, x))

    def infer(self, data: bytes, kind: str) -> np.ndarray:
        return self.infer_batch([data], kind)[0]

    def restart(self) -> None:
        """Nothing to restart: the session holds no state between inferences."""

    def close(self) -> None:
        self._session = None


@dataclass(frozen=True)
class HtpEmulatorOpener:
    """Opens an HtpEmulatorSession (a recipe, like harness.runner.DeviceOpener)."""

    model: Path
    input_shape: tuple

    def __call__(self) -> HtpEmulatorSession:
        return HtpEmulatorSession(self.model, self.input_shape)


class QnnEvalSource:
    """What the harness needs to evaluate `spec` on an HTP target from the build in
    `directory` (model_qdq.onnx, the context models): see harness.evaluate, "host sessions"."""

    device = DEVICE
    sessions = 1      # one emulator session: it runs in this process on every core it wants
    unavailable = {"device_e2e": "unavailable: the HTP emulator runs the model only; the features "
                                 "are computed on the host (no on-device frontend)"}

    def __init__(self, spec, target: TargetProfile, directory: Path):
        _check_target(target)
        self.target, self.directory = target, Path(directory)
        self.qdq = self.directory / "model_qdq.onnx"
        if not self.qdq.is_file():
            raise UserError(f"{self.qdq}: not found; run `edgekit build --target {target.name} "
                            f"--model {spec.name}` first")
        self.float_onnx = self.directory / "model_float.onnx"
        tflite = self.directory / "model_int8.tflite"
        self.int8_tflite = tflite if tflite.is_file() else None
        self.device_model = device_artefact(self.directory, target) or self.qdq
        self.tolerance = {"reference": "int8_host", "points": TOLERANCE_POINTS}
        self.notes = [f"The device is the QNN HTP emulator on x86 running {self.device_model.name} "
                      f"(no Snapdragon silicon here)."]
        self.path_descriptions = {
            "float": "float reference (model_float.onnx on ONNX Runtime's CPU provider)",
            "int8_host": "int8 host reference: model_qdq.onnx on ONNX Runtime's CPU provider "
                         "(the scales and zero points the HTP runs)",
            "device_features": f"QNN HTP emulator (x86) running {self.device_model.name}, "
                               f"host-computed features",
        }

    @property
    def identity(self) -> dict:
        """What the records depend on (a change moves old records aside)."""
        return {"model_qdq_sha256": sha256_file(self.qdq), "device_model": self.device_model.name,
                "device_model_sha256": sha256_file(self.device_model),
                "float_onnx_sha256": sha256_file(self.float_onnx) if self.float_onnx.is_file() else None,
                "tflite_sha256": sha256_file(self.int8_tflite) if self.int8_tflite else None,
                "device": self.device}

    @property
    def device_info(self) -> dict:
        return {"spec": self.device, "model": self.device_model.name,
                "how": "measured on the QNN HTP emulator (x86)"}

    def host_scores(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """path -> scores [N, classes] of the host paths on float features x."""
        out = {"int8_host": run_session(cpu_session(self.qdq), x)}
        if self.float_onnx.is_file():
            out["float"] = run_session(cpu_session(self.float_onnx), x)
        if self.int8_tflite is not None:
            ref = _litert_ref(self.int8_tflite, x)
            if ref is not None:
                out[LITERT_PATH] = ref
            elif not any("LiteRT" in n for n in self.notes):
                self.notes.append("edgekit.interpreters is not available: the LiteRT int8 reference was skipped.")
        return {k: v.reshape(len(x), -1) for k, v in out.items()}

    def payload(self, x: np.ndarray) -> bytes:
        """One sample's device input: its float32 features (the QDQ model quantizes on the HTP)."""
        return np.ascontiguousarray(x, np.float32).tobytes()

    def opener(self, input_shape: Sequence[int]) -> HtpEmulatorOpener:
        return HtpEmulatorOpener(self.device_model, tuple(input_shape))

    @staticmethod
    def scores(result: np.ndarray) -> np.ndarray:
        """The scores of one device result."""
        return np.asarray(result, np.float32).reshape(-1)

    def analysis(self, records: Sequence[dict]) -> dict:
        """What the eval section adds for this runtime: the tolerance its gate applies, how close
        the emulator's scores are to every other path's, and where the top-1 disagreements
        with the reference fall (near ties of the float model, or confident samples)."""
        dev = "device_features"
        scored = [r for r in records if r["paths"].get(dev, {}).get("status") == "ok"]
        paths = [p for p in dict.fromkeys(k for r in scored for k in r["paths"])
                 if p != dev and all(r["paths"].get(p, {}).get("status") == "ok" for r in scored)]
        scores = {p: np.array([r["paths"][p]["scores"] for r in scored], np.float32) for p in [dev, *paths]}
        preds = {p: np.array([r["paths"][p]["pred"] for r in scored]) for p in [dev, *paths]}
        agreement = {f"{dev}_vs_{p}": compare_outputs(scores[dev], scores[p]) for p in paths}
        ref = self.tolerance["reference"]
        if "float" in scores and ref in preds and scored:
            agreement["disagreements_by_float_margin"] = disagreements_by_margin(preds[dev], preds[ref], scores["float"])
        return {"tolerance": dict(self.tolerance), "agreement": agreement, "notes": list(self.notes)}


# Float top-1 minus top-2 probability below which a sample counts as a near tie.
NEAR_TIE_MARGIN = 0.2


def disagreements_by_margin(pred_a: np.ndarray, pred_b: np.ndarray, float_scores: np.ndarray) -> dict:
    """Where two int8 implementations disagree on top-1, measured against how sure the float
    model is (top-1 minus top-2 probability): disagreements confined to near ties are tie
    breaks between two roundings; one on a confident sample would be a defect."""
    s = np.sort(float_scores.reshape(len(float_scores), -1), axis=1)
    margin = s[:, -1] - s[:, -2] if s.shape[1] > 1 else np.ones(len(s))
    dis = np.asarray(pred_a) != np.asarray(pred_b)
    near = margin < NEAR_TIE_MARGIN

    def rate(mask: np.ndarray) -> Optional[float]:
        return round(float(dis[mask].mean()), 6) if mask.any() else None

    return {"disagreements": int(dis.sum()), "near_tie_margin": NEAR_TIE_MARGIN,
            "samples_near_tie": int(near.sum()), "disagreement_rate_near_tie": rate(near),
            "disagreement_rate_confident": rate(~near),
            "largest_float_margin_of_a_disagreement": round(float(margin[dis].max()), 6) if dis.any() else None}
