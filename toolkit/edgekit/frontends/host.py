"""Host builds of the C frontends: the same sources the firmware links, compiled with the
host's gcc into a shared library and called through ctypes, for fast parity tests and for
measuring a firmware variant's accuracy on thousands of samples without an emulator.

Built libraries are cached under <cache>/frontends/<hash of sources + config>/.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from edgekit import resources
from edgekit.errors import UserError
from edgekit.frontends.codegen import InputQuant, frontend_src_dir, generate
from edgekit.frontends.raw import raw_bytes
from edgekit.frontends.variants import FrontendVariant

HOST_CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fPIC", "-shared"]


# The C frontends keep scratch buffers in static memory, and ctypes releases the GIL during
# the call: one lock per loaded library (dlopen returns the same handle for the same path).
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(path), threading.Lock())


class FrontendBuildError(RuntimeError):
    """The C frontend did not compile: a bug in our sources or generator, not user input."""


def _compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise UserError("host C compiler: none found; install gcc (apt-get install gcc)")
    return cc


@dataclass
class HostFrontend:
    """One compiled (spec, variant, quantization) frontend, callable from Python."""

    library: Path
    kind: str
    variant: str
    spec_hash: str
    output_shape: tuple[int, ...]
    pre_spec: object

    def __post_init__(self):
        self._lib = ctypes.CDLL(str(self.library))
        self._lib.ek_frontend_run.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        self._lib.ek_frontend_run.restype = ctypes.c_int
        self._lib.ek_frontend_variant.restype = ctypes.c_char_p
        self._lock = _lock_for(self.library)

    def compiled_variant(self) -> str:
        return self._lib.ek_frontend_variant().decode()

    def run_bytes(self, data: bytes) -> np.ndarray:
        out = np.empty(self.output_shape, np.int8)
        buf = ctypes.create_string_buffer(data, len(data)) if data else None
        with self._lock:
            rc = self._lib.ek_frontend_run(ctypes.cast(buf, ctypes.c_void_p) if buf else None, len(data),
                                           out.ctypes.data_as(ctypes.c_void_p))
        if rc != 0:
            raise ValueError(f"ek_frontend_run returned {rc} for {len(data)} raw bytes")
        return out

    def run(self, raw: np.ndarray) -> np.ndarray:
        """Raw sensor data (int16 PCM / uint8 HxWx3) -> int8 model input, through the C code."""
        return self.run_bytes(raw_bytes(self.pre_spec, raw))

    def run_batch(self, raws: Iterable[np.ndarray]) -> np.ndarray:
        return np.stack([self.run(r) for r in raws])


def build_host(pre_spec, variant: FrontendVariant, quant: InputQuant,
               sensor: Optional[tuple[int, int]] = None, cache: Optional[Path] = None) -> HostFrontend:
    pre_spec = getattr(pre_spec, "preprocessing", pre_spec)
    with tempfile.TemporaryDirectory(prefix="ekfe-gen-") as tmp:
        gen = generate(pre_spec, variant, quant, Path(tmp), sensor=sensor)
        h = hashlib.sha256()
        for src in sorted(gen.sources) + sorted((frontend_src_dir() / "include").glob("*.h")) + \
                sorted((frontend_src_dir() / "src").glob("*.h")) + \
                [Path(tmp) / "ek_frontend_config.h"]:
            h.update(src.name.encode())
            h.update(src.read_bytes())
        h.update(" ".join(HOST_CFLAGS).encode())
        key = h.hexdigest()[:20]
        out_dir = (cache or resources.cache_dir() / "frontends") / key
        lib = out_dir / "libekfrontend.so"
        if not lib.is_file():
            out_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_lib = tempfile.mkstemp(dir=out_dir, prefix=".lib.", suffix=".so")
            os.close(fd)
            cmd = [_compiler(), *HOST_CFLAGS, *[f"-I{d}" for d in gen.include_dirs],
                   *map(str, gen.sources), "-o", tmp_lib, "-lm"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                os.unlink(tmp_lib)
                raise FrontendBuildError(f"host build of the frontend failed:\n{proc.stderr}")
            os.replace(tmp_lib, lib)
    shape = tuple(pre_spec.output_shape)
    return HostFrontend(library=lib, kind=gen.kind, variant=gen.variant, spec_hash=gen.spec_hash,
                        output_shape=shape, pre_spec=pre_spec)
