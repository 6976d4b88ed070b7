"""Where the data folders (targets/, models/, firmware/, calibration_data/) live.

In a checkout they sit at the repository root, next to toolkit/. In an installed wheel they
are package resources under edgekit/_resources/ (see pyproject.toml's force-include).
EDGEKIT_HOME overrides both, for users who keep their own targets and models.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

DATA_DIRS = ("targets", "models", "firmware", "calibration_data")

_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def root() -> Path:
    """The folder holding targets/, models/, firmware/ and calibration_data/."""
    env = os.environ.get("EDGEKIT_HOME")
    if env:
        return Path(env).resolve()
    checkout = _PACKAGE_DIR.parent.parent
    if (checkout / "targets").is_dir() and (checkout / "toolkit").is_dir():
        return checkout
    return _PACKAGE_DIR / "_resources"


def targets_dir() -> Path:
    return root() / "targets"


def models_dir() -> Path:
    return root() / "models"


def firmware_dir() -> Path:
    return root() / "firmware"


def calibration_dir() -> Path:
    return root() / "calibration_data"


def build_dir() -> Path:
    """Where stages write their outputs: ./build in the current directory, or EDGEKIT_BUILD."""
    return Path(os.environ.get("EDGEKIT_BUILD", "build")).resolve()


def cache_dir() -> Path:
    """Large generated data (synthesized audio, rendered images) that stays out of git."""
    env = os.environ.get("EDGEKIT_CACHE")
    if env:
        return Path(env).resolve()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgekit"


def stage_dir(target: str, model: str) -> Path:
    """build/<target>/<model>/: every stage for this pair writes here."""
    return build_dir() / target / model
