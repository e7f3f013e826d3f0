"""What a training records to be repeated: the library versions it ran with and the seeds it used."""

from __future__ import annotations

import platform
import secrets
from importlib import metadata
from typing import Any

from core.contracts import Design

# (name shown, module whose __version__ is read, or None for an installed distribution's version)
LIBRARIES = (
    ("tensorflow", "tensorflow"),
    ("keras", "keras"),
    ("numpy", "numpy"),
    ("pandas", "pandas"),
    ("scikit-learn", "sklearn"),
)


def _version_of(module: str) -> str | None:
    """MODULE's __version__ (None when it is not installed)."""
    import importlib

    try:
        return str(importlib.import_module(module).__version__)
    except ImportError:
        return None


def _distribution_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, str | None]:
    """The versions of Python, the ML libraries and fitstudio this process trains with."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    versions.update({name: _version_of(module) for name, module in LIBRARIES})
    versions["fitstudio"] = _distribution_version("fitstudio")
    return versions


def apply_seeds(design: Design) -> dict[str, Any]:
    """Seed Python, numpy and TensorFlow with the design's training.seed (drawn when null); the seeds used."""
    import keras

    given = design.training.get("seed")
    seed = secrets.randbelow(2**31) if given is None else int(given)
    keras.utils.set_random_seed(seed)
    return {"split": design.seed, "tensorflow": seed, "tensorflow_drawn": given is None}
