"""Entry point `python`: the user's preprocessing as a Python function, `FILE.py:FUNCTION`,
raw sample -> model input (float32 in model-input units, or int8 already quantized). For an
app's pipeline re-implemented in Python or run through the library the app really uses
(Pillow, OpenCV, ...). Runs on the host only (docs/ARCHITECTURE.md, skew).

The function takes the raw input (int16 PCM [samples] or uint8 [H, W, 3] RGB); when it
accepts a second argument it also gets the sample's cohort fields (a dict). An exception it
raises is that sample's failure, with its message; the run goes on.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path

from edgekit.errors import UserError
from edgekit.fileio import sha256_file
from edgekit.skew.entrypoints import EntryPointOutput, PreprocessingEntryPoint, RawSample, check_tensor, register

OPTION = "--frontend-python"


def load_function(text: str):
    """`FILE.py:FUNCTION` -> (path, the callable); UserError (exit 2) naming what is wrong."""
    path_s, sep, fn_name = str(text).rpartition(":")
    if not sep or not path_s or not fn_name:
        raise UserError(f"{OPTION} {text!r}: expected FILE.py:FUNCTION, e.g. app_pipeline.py:preprocess")
    path = Path(path_s)
    if not path.is_file():
        raise UserError(f"{OPTION} {text}: {path} not found; give the path of the .py file holding {fn_name}")
    mod_name = f"edgekit_user_frontend_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{OPTION} {text}: {path} is not a Python module; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))  # the pipeline's own helper modules beside it
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module failed at import: bad input, named with its line
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"{f.filename}:{f.lineno}" for f in reversed(tb) if Path(f.filename) == path), str(path))
        raise UserError(f"{OPTION} {text}: importing {path} failed at {where}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(str(path.parent.resolve()))
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        found = [n for n, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == mod_name]
        raise UserError(f"{OPTION} {text}: {path} has no function {fn_name}; "
                        f"functions there: {', '.join(found) or 'none'}")
    return path, fn


def _takes_cohort(fn) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


@register("python")
class PythonFunction(PreprocessingEntryPoint):
    def __init__(self, context, option=None, *, skip_bad: bool = False):
        super().__init__(context, option, skip_bad=skip_bad)
        self.path, self.fn = load_function(option)
        self._with_cohort = _takes_cohort(self.fn)

    @property
    def version(self) -> str:
        return f"{self.option} (sha256 {sha256_file(self.path)[:12]})"

    def tensor(self, sample: RawSample) -> EntryPointOutput:
        try:
            raw = sample.raw.copy()  # the user's function may write into its input
            out = self.fn(raw, dict(sample.cohort)) if self._with_cohort else self.fn(raw)
        except Exception as exc:  # user code: this sample's failure, never the run's
            return EntryPointOutput(failure=f"{type(exc).__name__}: {exc}")
        import numpy as np

        if not isinstance(out, np.ndarray) and hasattr(out, "__array__"):
            out = np.asarray(out)
        t, why = check_tensor(self.context, out, f"{self.fn.__name__}() returned a value that")
        return EntryPointOutput(tensor=t) if why is None else EntryPointOutput(failure=why)
