"""get_variable(name): values the service shares with code cells (DKU_MODEL_METRIC, TENSORBOARD_LOGDIR, …)."""

from __future__ import annotations

from typing import Any

from fitstudio.deep_learning import _context

KNOWN = ("DKU_MODEL_METRIC", "DKU_MODEL_METRIC_GREATER_IS_BETTER", "TENSORBOARD_LOGDIR")


def get_variable(name: str) -> Any:
    """The shared variable NAME; KeyError naming the known ones when it does not exist."""
    try:
        return _context.variables[name]
    except KeyError:
        known = ", ".join(sorted(_context.variables) or KNOWN)
        raise KeyError(f"No shared variable {name!r}; known variables: {known}") from None
