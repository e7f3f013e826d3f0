"""Response bodies of datasets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ColumnOut(BaseModel):
    """One column: name, type, `stats` and `hints` (data.md "Column types and statistics"); other keys pass through."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str
    stats: dict[str, Any] | None = None
    hints: list[str] = []


class ColumnTypeIn(BaseModel):
    """PATCH /datasets/{id}/columns/{name}: the column's new type."""

    type: str


class ColumnTypeOut(ColumnOut):
    """The changed column, with how many present values do not parse as its new type (they read as missing)."""

    unparseable: int


class DatasetOut(BaseModel):
    """A dataset's metadata and schema (each column: name, type and what inference found)."""

    id: int
    name: str
    kind: str
    n_rows: int
    columns: list[ColumnOut]
    size_bytes: int
    image_cache_bytes: int = 0  # its preprocessed image caches (0 in lists: only GET /datasets/{id} measures them)
    created_at: datetime
    # how a CSV was read (data.md "Reading a table"), or the images an image ZIP left out; null for others
    source: dict[str, Any] | None = None


class PreviewOut(BaseModel):
    """The first rows of a dataset, one list of values per row in the order of `columns`."""

    columns: list[str]
    rows: list[list[Any]]


class SniffOut(BaseModel):
    """How an upload would be read (`source`), its columns with their detected types and its first rows."""

    source: dict[str, Any]
    columns: list[dict[str, Any]]
    rows: list[list[Any]]
