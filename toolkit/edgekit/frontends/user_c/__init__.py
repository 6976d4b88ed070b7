"""The user's own C frontend (firmware/frontends/include/ek_user_frontend.h): a firmware
team's production preprocessing, linked into edgekit's firmware in place of the generated
frontend and compiled for the host as well, so its parity with the model's reference
preprocessing is measured on every sample (docs/ARCHITECTURE.md, frontends).

    fe = UserCFrontend.from_options("fw/audio_fe.c", include=["fw/include"], define=["FE_Q15=1"])
    host = build_host_frontend(fe, spec, quant)          # a worker subprocess, ctypes
    host.run(raw)                                        # int8 model input, or FrontendSampleError
    build(spec, target, user_frontend=fe)                # the firmware with it (edgekit.build)

- `UserCFrontend`: the sources, include dirs and defines (hashable: one firmware per distinct one).
- `compile`: host shared library and firmware sources; a compile error or a missing
  function of the header is a UserError (exit 2) naming `file:line: message` or the function.
- `host`: the worker subprocess that runs the library per sample, with guard bytes checked
  by the adapter, a time limit per call, and a crash that fails that sample only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union

from edgekit.errors import UserError

HEADER = "firmware/frontends/include/ek_user_frontend.h"
# Per call: wall time on the host, timer units (instructions under QEMU) on the device.
HOST_TIME_LIMIT_S = 5.0
DEVICE_TIME_LIMIT = 200_000_000


@dataclass(frozen=True)
class UserCFrontend:
    """A user C frontend: what to compile. Paths are resolved; defines keep their order."""

    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...] = ()
    defines: tuple[tuple[str, str], ...] = ()
    host_time_limit_s: float = HOST_TIME_LIMIT_S
    device_time_limit: int = DEVICE_TIME_LIMIT

    @classmethod
    def from_options(cls, frontend: Union[str, Sequence[str]], include: Iterable[str] = (),
                     define: Iterable[str] = (), where: str = "--frontend", base: Optional[Path] = None,
                     **limits) -> "UserCFrontend":
        """`FILE.c[,FILE.c...]` (or a list), include dirs, `NAME=VALUE` defines; relative
        paths are taken from `base` (a manifest's folder) or the current directory."""
        base = Path(base) if base else Path.cwd()
        items = [s.strip() for s in (frontend.split(",") if isinstance(frontend, str) else frontend)
                 if str(s).strip()]
        if not items:
            raise UserError(f"{where}: no C source given; e.g. {where} fw/audio_fe.c[,fw/dsp.c]")
        sources = []
        for s in items:
            p = (base / str(s)).resolve()
            if p.suffix != ".c":
                raise UserError(f"{where}: {s}: not a C source (.c); headers go in a --frontend-include folder")
            if not p.is_file():
                raise UserError(f"{where}: {s}: file not found")
            sources.append(p)
        incs = []
        for d in include:
            p = (base / str(d)).resolve()
            if not p.is_dir():
                raise UserError(f"--frontend-include {d}: not a folder")
            incs.append(p)
        defs = []
        for d in define:
            name, sep, value = str(d).partition("=")
            name = name.strip()
            if not name.isidentifier():
                raise UserError(f"--frontend-define {d}: expected NAME=VALUE (or NAME), NAME a C identifier")
            defs.append((name, value.strip() if sep else "1"))
        return cls(tuple(sources), tuple(incs), tuple(defs), **limits)

    @classmethod
    def from_manifest(cls, entry: Mapping, where: str, base: Optional[Path] = None) -> "UserCFrontend":
        """A cohort manifest's `{frontend: [a.c, b.c], include: [dir], define: [N=V]}`."""
        unknown = set(entry) - {"frontend", "include", "define"}
        if unknown:
            raise UserError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; a user frontend takes "
                            f"frontend: [FILE.c, ...], include: [DIR], define: [NAME=VALUE]")

        def as_list(v):
            return [v] if isinstance(v, str) else list(v or [])

        return cls.from_options(as_list(entry.get("frontend")), as_list(entry.get("include")),
                                as_list(entry.get("define")), where=where, base=base)

    @property
    def label(self) -> str:
        """A short, file-name-safe name for reports and folders: `user-<first source's stem>`
        and the defines (`user-audio_fe-AFE_PREEMPHASIS=1`); the build cache and the records
        key on the content, so a label never stands for stale code."""
        parts = [f"user-{self.sources[0].stem}", *(f"{k}={v}" for k, v in self.defines)]
        return re.sub(r"[^A-Za-z0-9_.=+-]", "_", "-".join(parts))[:80]

    def content_hash(self) -> str:
        """Sources, the headers beside them and in the include dirs, defines and limits:
        equal hash, same code (the firmware and host builds are reused on it)."""
        h = hashlib.sha256()
        for p in self.sources:
            h.update(p.name.encode())
            h.update(p.read_bytes())
        beside = [f for p in dict.fromkeys(s.parent for s in self.sources) for f in sorted(p.glob("*.h"))]
        for d in self.include_dirs:
            beside += sorted(d.rglob("*.h"))
        for f in dict.fromkeys(beside):
            h.update(str(f).encode())
            h.update(f.read_bytes())
        h.update(repr((self.defines, self.host_time_limit_s, self.device_time_limit)).encode())
        return h.hexdigest()

    def describe(self) -> str:
        shown = ", ".join(_shown(p) for p in self.sources)
        defs = " ".join(f"-D{k}={v}" for k, v in self.defines)
        return f"user C frontend: {shown}" + (f" ({defs})" if defs else "")


def from_cli(model_spec, frontend: Optional[str], include: Sequence[str] = (), define: Sequence[str] = (),
             firmware_variant: Optional[str] = None) -> Optional[UserCFrontend]:
    """`--frontend/--frontend-include/--frontend-define` -> a UserCFrontend, its sources
    compiled for the host at once, so a compile error or a missing function is exit 2
    before anything is built or run; None without --frontend."""
    if frontend and firmware_variant:
        raise UserError(f"--frontend and --firmware-variant {firmware_variant}: give one firmware frontend "
                        f"(a cohort manifest can mix them: --cohort-firmware)")
    if not frontend:
        if include or define:
            raise UserError("--frontend-include/--frontend-define: give the sources they are for with "
                            "--frontend FILE.c[,FILE.c...]")
        return None
    fe = UserCFrontend.from_options(frontend, include, define)
    from edgekit.frontends.codegen import InputQuant

    compile_host(fe, model_spec, InputQuant(1.0, 0))  # the quantization does not matter to the check
    return fe


def _shown(p: Path) -> str:
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


from edgekit.frontends.user_c.compile import (HostLibrary, compile_host, device_build_error,  # noqa: E402
                                              firmware_sources, frontend_memory)
from edgekit.frontends.user_c.host import (FrontendSampleError, HostUserFrontend, build_host_frontend,  # noqa: E402
                                           classify_device_failure)
from edgekit.frontends.user_c.parity import user_parity  # noqa: E402

__all__ = ["DEVICE_TIME_LIMIT", "FrontendSampleError", "device_build_error", "HOST_TIME_LIMIT_S", "HostLibrary",
           "HostUserFrontend", "UserCFrontend", "build_host_frontend", "classify_device_failure", "compile_host",
           "firmware_sources", "from_cli", "frontend_memory", "user_parity"]
