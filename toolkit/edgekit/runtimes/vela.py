"""The vela runtime: Arm Ethos-U55/U65 NPUs, the int8 .tflite compiled by Vela (edgekit.npu.vela).
See docs/ARCHITECTURE.md, "Runtime backends"."""

from __future__ import annotations

from pathlib import Path

from edgekit.runtimes import register
from edgekit.runtimes.base import BuildResult, Progress, RuntimeBackend, npu_build


@register
class Vela(RuntimeBackend):
    name = "vela"
    description = "Arm Ethos-U NPU through Vela (the CPU runs what the NPU cannot)"
    builds = "the Vela-compiled .tflite, with Vela's SRAM, flash and cycle estimates"
    model_file = "model_int8.tflite"
    evaluates = False
    evaluation_note = ("{target}: an Ethos-U NPU keeps TFLite int8 semantics, so its accuracy is the "
                       "int8 host reference's: run `edgekit convert --model {model} --target {target}` "
                       "for per-cohort accuracy and `edgekit build` for Vela's figures")
    npu_kinds = ("ethos-u55", "ethos-u65")

    def build(self, spec, target, out: Path, *, progress: Progress = None, check_budgets: bool = True,
              **_firmware_options) -> BuildResult:
        from edgekit.npu import vela

        return npu_build(vela.build, spec, target, out, progress, check_budgets)
