"""A dataset's columns: statistics and hints (at upload, or on first read for older datasets), type changes."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from server.errors import ApiError, invalid, not_found
from server.models import Dataset, User
from server.services import audit, coercion_check, column_stats, datasets, mltasks
from server.settings import Settings

log = logging.getLogger(__name__)

SETTABLE_TYPES = ("numeric", "categorical", "date", "text")


def with_stats(settings: Settings, dataset: Dataset) -> list[dict[str, Any]]:
    """DATASET's columns with `stats` and `hints` computed from its stored Parquet file."""
    return column_stats.compute(datasets.parquet_path(settings, dataset), dataset.columns)


def ensure_stats(db: Session, settings: Settings, dataset: Dataset) -> bool:
    """Compute and store the statistics of a dataset stored before they existed; whether it did (to commit)."""
    if all("stats" in c for c in dataset.columns):
        return False
    if not dataset.path:
        return False
    try:
        dataset.columns = with_stats(settings, dataset)
    except (OSError, pa.ArrowException, ValueError) as exc:
        log.warning("statistics of dataset %s could not be computed: %s", dataset.id, exc)
        return False
    db.flush()
    return True


def _check_type(column: dict[str, Any], new_type: str) -> None:
    """422 unless a column of COLUMN's type may become NEW_TYPE."""
    if column["type"] == "image":
        raise invalid(f"Column {column['name']!r} holds images; its type cannot change.", code="bad_type")
    if new_type not in SETTABLE_TYPES:
        raise invalid(
            f"Type {new_type!r} is not one of {', '.join(SETTABLE_TYPES)}.",
            errors=[{"field": "type", "message": "unknown type"}],
            code="bad_type",
        )


def change_type(db: Session, settings: Settings, user: User, dataset: Dataset, name: str, new_type: str) -> dict:
    """Set column NAME's type; the column (stats recomputed) with `unparseable`: values that become missing."""
    columns = [dict(c) for c in dataset.columns]
    index = next((i for i, c in enumerate(columns) if c["name"] == name), None)
    if index is None:
        raise not_found("column", name)
    _check_type(columns[index], new_type)
    old_type = columns[index]["type"]
    columns[index]["type"] = new_type
    try:
        path = datasets.parquet_path(settings, dataset)
        (updated,) = column_stats.compute(path, [columns[index]])
        if new_type == "date":  # the statistics count numbers only: count the dates as training parses them
            updated["stats"]["unparseable"] = coercion_check.unparseable(str(path), name, "date")
    except (OSError, pa.ArrowException) as exc:
        raise ApiError(409, "dataset_unreadable", f"Dataset {dataset.id}'s stored data cannot be read: {exc}") from None
    updated["unparseable"] = updated["stats"]["unparseable"]
    columns[index] = updated
    dataset.columns = columns
    # The ML tasks that took this column's type follow it (not those whose design set the type itself).
    followed = mltasks.follow_column_type(db, dataset, name, old_type, new_type)
    db.flush()
    audit.record(
        db, user, "dataset.column_type", str(dataset.id), column=name, type=new_type, unparseable=updated["unparseable"]
    )
    return {**updated, "ml_tasks_updated": followed}
