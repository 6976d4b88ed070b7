"""`edgekit skew`: training-serving skew per cohort, attributed to a stage (docs/ARCHITECTURE.md, skew).

    firmware.py   the generated firmware frontends on the device (four harness paths, the
                  multi-firmware cohort run in edgekit.harness.fleet)
    analysis.py   stage decomposition, preprocessing-skew flags, examples over those records
    pictures.py   reference vs device model input, side by side
    entrypoints/  preprocessing entry points: generated firmware variant, Python function,
                  captured device tensors (user C plugs in the same way)
    host.py       an entry point's tensors vs the reference on the host: the 2x2 of
                  float/int8 x reference/implementation preprocessing, per cohort
    captures.py   the captures folder (manifest + tensors), every row checked
    diagnosis.py  what kind of difference it is (gain/offset, permutation, alignment, ...)
    gate.py       the skew gate (rows from edgekit.report.gates)

    from edgekit.skew import skew, gate, load_cohort_firmware
    res = skew(load_model("mobilenetv2"), load_target("cortex-m7"),
               cohort_firmware=load_cohort_firmware(spec, "sensor-b: fast-resize"), limit=200)
    gate(res)   # CheckFailed (exit 1) when a cohort shows preprocessing skew
"""

from edgekit.harness.fleet import CohortFirmwareEntry, CohortFirmwareMap, load_cohort_firmware
from edgekit.skew.firmware import SECTION, SkewResult, select_samples, skew
from edgekit.skew.gate import gate

__all__ = ["SECTION", "CohortFirmwareEntry", "CohortFirmwareMap", "SkewResult", "gate", "load_cohort_firmware",
           "select_samples", "skew"]
