"""Validate's warnings: numeric (and date) input columns holding values that training would not parse."""

from __future__ import annotations

from typing import Any

from core import dates
from server.models import MLTask
from server.services import column_stats, datasets, table_store
from server.settings import Settings

PARSED = ("numeric", "date")
BATCH_ROWS = 65_536


def warnings(settings: Settings, task: MLTask, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """{field, message} for every numeric or date input column of DOC with values that do not parse."""
    columns = {c: s for c, s in doc["features"].items() if s["role"] == "input" and s["type"] in PARSED}
    if not columns:
        return []
    try:
        counts = _count(str(datasets.parquet_path(settings, task.analysis.dataset)), columns)
    except (OSError, ValueError, KeyError):
        return []  # an unreadable dataset is the dry run's and the training's to report
    found = []
    for col, spec in columns.items():
        if counts[col]:
            kind = "numbers" if spec["type"] == "numeric" else "dates"
            how = (spec.get("impute") or "mean") if spec["type"] == "numeric" else "mean"
            message = f"{counts[col]} value(s) of {col!r} do not parse as {kind}; training will impute them ({how})."
            found.append({"field": f"features.{col}", "message": message, "unparseable": counts[col]})
    return found


def _count(path: str, columns: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Per column of COLUMNS, the present values that do not parse, read in record batches (memory stays flat)."""
    counts = dict.fromkeys(columns, 0)
    for batch in table_store.open_parquet(path).iter_batches(batch_size=BATCH_ROWS, columns=list(columns)):
        for col, spec in columns.items():
            counts[col] += _unparseable(batch.column(col), spec["type"])
    return counts


def unparseable(path: str, column: str, kind: str) -> int:
    """How many present values of COLUMN in the Parquet file PATH do not parse as KIND (numeric or date)."""
    return _count(path, {column: {"type": kind}})[column]


def _unparseable(arr: Any, kind: str) -> int:
    """How many present values of ARR do not parse as KIND (day-first or not, a date either parses or does not)."""
    if kind == "numeric":
        return column_stats.as_numbers(arr)[1]
    series = arr.to_pandas()
    parsed = dates.parse(series, dates.detect_dayfirst(series))
    return int((series.notna().to_numpy() & parsed.isna().to_numpy()).sum())
