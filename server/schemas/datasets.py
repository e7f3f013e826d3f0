"""Response bodies of datasets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class DatasetOut(BaseModel):
    """A dataset's metadata and schema (each column: name, type and what inference found)."""

    id: int
    name: str
    kind: str
    n_rows: int
    columns: list[dict[str, Any]]
    size_bytes: int
    created_at: datetime


class PreviewOut(BaseModel):
    """The first rows of a dataset, one list of values per row in the order of `columns`."""

    columns: list[str]
    rows: list[list[Any]]
