"""ONNX Runtime sessions on the QNN execution provider's HTP backend (the HTP emulator on
x86, CPU fallback disabled) and on the CPU provider, for edgekit.npu.qnn and qnn_eval."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from edgekit.errors import UserError
from edgekit.npu import OpPlacement

EP_NAME = "QNNExecutionProvider"

# QNN `soc_model` ids. Verified with onnxruntime-qnn 2.7: the context binary compiled with each
# id records "soc_type=<name>;arch=<htp arch>" (SM8550 -> arch 73, SM8650 -> arch 75), and an
# unknown id is refused at session creation (QNN_DEVICE_ERROR_INVALID_CONFIG).
SOC_MODELS: dict[str, int] = {"SM8550": 43, "SM8650": 57}

_registered = False


class HtpUnsupported(Exception):
    """The model does not run entirely on the HTP; `ops` names what does not."""

    def __init__(self, message: str, ops: list[OpPlacement]):
        super().__init__(message)
        self.ops = ops


@contextlib.contextmanager
def _native_stdout_to_stderr():
    """QNN's native libraries print banners to file descriptor 1; keep stdout clean for
    `--json` by pointing fd 1 at stderr while they run."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _ep_devices():
    global _registered
    import onnxruntime as ort
    import onnxruntime_qnn

    if not _registered:
        try:
            with _native_stdout_to_stderr():
                ort.register_execution_provider_library(EP_NAME, onnxruntime_qnn.get_library_path())
        except Exception as exc:  # registered by someone else in this process
            if "already" not in str(exc).lower():
                raise
        _registered = True
    devices = [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]
    if not devices:
        raise UserError("onnxruntime-qnn: the QNN execution provider found no device; "
                        "reinstall onnxruntime-qnn (pip install onnxruntime-qnn)")
    return devices


def _ep_options(trace_dir: Optional[Path] = None, soc: Optional[str] = None) -> dict[str, str]:
    import onnxruntime_qnn

    opts = {
        "backend_path": onnxruntime_qnn.get_qnn_htp_path(),
        # Quantize/dequantize graph inputs and outputs on the HTP too: otherwise the EP hands
        # them to the CPU EP, which fallback-disabled sessions refuse.
        "offload_graph_io_quantization": "0",
    }
    if trace_dir is not None:
        opts["enable_framework_op_trace"] = "1"
        opts["framework_op_trace_dir"] = str(trace_dir)
    if soc is not None:
        opts["soc_model"] = str(SOC_MODELS[soc])
    return opts


def read_op_trace(trace_dir: Path) -> Optional[dict]:
    p = Path(trace_dir) / "qnn_op_trace.json"
    return json.loads(p.read_text()) if p.is_file() else None


def _unsupported_from_trace(trace: Optional[dict]) -> list[OpPlacement]:
    if not trace:
        return []
    ops = []
    for n in trace.get("unsupported_nodes", []):
        # QDQ nodes around an unsupported op are listed too; name the op that caused it first.
        ops.append(OpPlacement(op_type=n.get("op_type", "?"), name=n.get("node_name", "?"),
                               on_npu=False, reason=n.get("reason", "")))
    return ops


def htp_session(model_path: Path, trace_dir: Optional[Path] = None):
    """An InferenceSession on the QNN HTP backend (the x86 emulator here) with CPU fallback
    disabled. Raises HtpUnsupported naming the ops if the HTP cannot run every node."""
    import onnxruntime as ort

    devices = _ep_devices()
    own_trace = trace_dir is None
    tdir = Path(tempfile.mkdtemp(prefix="qnn_trace_")) if own_trace else Path(trace_dir)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices(devices, _ep_options(tdir))
    try:
        with _native_stdout_to_stderr():
            return ort.InferenceSession(str(model_path), sess_options=so)
    except Exception as exc:
        ops = _unsupported_from_trace(read_op_trace(tdir))
        if ops:
            names = ", ".join(f"{o.op_type} ({o.name})" for o in ops if o.op_type not in
                              ("QuantizeLinear", "DequantizeLinear")) or \
                ", ".join(f"{o.op_type} ({o.name})" for o in ops)
            raise HtpUnsupported(f"{Path(model_path).name}: not every op runs on the HTP: {names}",
                                 ops) from None
        raise HtpUnsupported(f"{Path(model_path).name}: the QNN HTP backend refused the model: "
                             f"{str(exc).strip()[:300]}", []) from None
    finally:
        if own_trace:
            shutil.rmtree(tdir, ignore_errors=True)


def cpu_session(model_path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(model_path), sess_options=so, providers=["CPUExecutionProvider"])


def run_session(session, x: np.ndarray) -> np.ndarray:
    """Run a batch-1 session over x [N, ...] one sample at a time; returns [N, ...] float32."""
    name = session.get_inputs()[0].name
    outs = [session.run(None, {name: x[i:i + 1].astype(np.float32)})[0] for i in range(len(x))]
    return np.concatenate(outs, axis=0).astype(np.float32) if outs else np.zeros((0,), np.float32)

