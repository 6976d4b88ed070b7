"""The onnxruntime-qnn runtime: a Snapdragon Hexagon HTP through ONNX Runtime's QNN execution
provider (edgekit.npu.qnn): QDQ ONNX model, context binaries per SoC, the HTP emulator as the
device. See docs/ARCHITECTURE.md, "Runtime backends"."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from edgekit.runtimes import register
from edgekit.runtimes.base import BuildResult, Progress, RuntimeBackend, npu_build


@register
class OnnxRuntimeQnn(RuntimeBackend):
    name = "onnxruntime-qnn"
    description = "Snapdragon Hexagon HTP through ONNX Runtime's QNN execution provider"
    builds = "a QDQ ONNX model and a QNN context binary per SoC, with a roofline latency estimate"
    model_file = "model_qdq.onnx"
    evaluates = True
    npu_kinds = ("hexagon-htp",)
    needs_core = False

    def build(self, spec, target, out: Path, *, progress: Progress = None, check_budgets: bool = True,
              **_firmware_options) -> BuildResult:
        from edgekit.npu import qnn

        return npu_build(qnn.build, spec, target, out, progress, check_budgets)

    def eval_source(self, spec, target, directory: Path, build: Callable[[], None]):
        """The QNN HTP emulator as the device, model_qdq.onnx on the CPU provider its int8 host
        reference (npu/qnn_eval.py); builds first when model_qdq.onnx is missing."""
        from edgekit.npu.qnn_eval import QnnEvalSource

        if not (Path(directory) / self.model_file).is_file():
            build()
        return QnnEvalSource(spec, target, directory)
