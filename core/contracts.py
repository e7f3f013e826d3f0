"""Typed contracts the API, the worker and the child exchange (stored as JSON in SQL and on the pipe)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorInfo:
    """Why a training or a dry run failed, as the API shows it: {type, message, cell, line, traceback}."""

    type: str
    message: str
    cell: str | None = None
    line: int | None = None
    traceback: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON object stored in SQL and returned by the API."""
        return asdict(self)
