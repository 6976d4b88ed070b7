"""Hardware-in-the-loop evaluation harness: per-sample records over four paths (float,
int8 host reference, device with host features, device end to end), resumable, parallel.

    from edgekit.harness import evaluate
    result = evaluate(spec, target, device="qemu")
"""

from edgekit.harness.core import PATHS, EvalSample, HarnessResult, OutputQuant
from edgekit.harness.records import RecordStore, read_records

__all__ = ["PATHS", "EvalSample", "HarnessResult", "OutputQuant", "RecordStore", "read_records"]
