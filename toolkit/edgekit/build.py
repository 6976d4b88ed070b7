"""`edgekit build`: the target's runtime backend turns the model into what runs on the part.

    result = build(load_model("kws"), load_target("cortex-m4"))

The backend is edgekit.runtimes.backend_for(target): edgekit-micro compiles firmware and
counts its instructions on QEMU (edgekit.runtimes.edgekit_micro), vela and onnxruntime-qnn
compile for an NPU (edgekit.npu). Every backend writes the report sections "build" or "npu"
and "budget" in build/<target>/<model>/report.json and gates the budgets (CheckFailed,
exit 1, after the report is written). See docs/ARCHITECTURE.md, "Data flow".
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from edgekit import resources
from edgekit.runtimes import BuildResult, backend_for
from edgekit.runtimes.base import Progress
from edgekit.runtimes.edgekit_micro import generated_inputs, per_op_profile  # noqa: F401 (callers of edgekit.build)

__all__ = ["BuildResult", "build", "generated_inputs", "per_op_profile"]


def build(spec, target, firmware_variant: Optional[str] = None, kernels: Optional[str] = None,
          progress: Progress = None, *, tflite_path: Optional[Path] = None, n_inferences: int = 3,
          out_dir: Optional[Path] = None, platformio: bool = False, check_budgets: bool = True,
          user_frontend=None) -> BuildResult:
    """user_frontend: an edgekit.frontends.user_c.UserCFrontend, linked in place of the
    generated frontend (firmware_variant is then ignored).
    platformio=True also exports a PlatformIO project for a real board into
    build/<t>/<m>/platformio/ (before the budget gate, so it exists even when over budget).
    check_budgets=False records the budget rows without raising (for a caller, such as an
    evaluation, that gates later on its own measurements). The firmware options
    (firmware_variant, kernels, tflite_path, n_inferences, platformio, user_frontend) concern firmware
    backends; an NPU backend ignores them."""
    out = Path(out_dir) if out_dir else resources.stage_dir(target.name, spec.name)
    return backend_for(target).build(spec, target, out, progress=progress, check_budgets=check_budgets,
                                     firmware_variant=firmware_variant, kernels=kernels, tflite_path=tflite_path,
                                     n_inferences=n_inferences, platformio=platformio,
                                     user_frontend=user_frontend)


