"""Datasets: receive an upload, infer its schema, store it as Parquet under the data root, preview it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import image_cache
from server.errors import ApiError, conflict, invalid
from server.models import Analysis, Dataset, Project, User
from server.services import audit, column_stats, image_zip, storage, table_store
from server.services.json_cells import json_value
from server.services.type_inference import infer_schema
from server.settings import Settings

SUPPORTED = (".csv", ".parquet", ".zip")


def check_name(name: str) -> str:
    """A dataset name: 1-200 printable characters."""
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise invalid(f"Dataset name {name!r} must be 1-200 printable characters.", code="bad_name")
    return name


def suffix_of(filename: str) -> str:
    """The lower-case extension of FILENAME; 415 unless it is one we read."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUPPORTED:
        raise ApiError(
            415, "unsupported_file", f"File {filename!r} is not .csv, .parquet or .zip; upload one of those."
        )
    return suffix


def create_from_file(
    db: Session,
    settings: Settings,
    project: Project,
    user: User,
    name: str,
    filename: str,
    upload: Path,
    fields: dict[str, str] | None = None,
) -> Dataset:
    """Turn the received file UPLOAD into a stored dataset of PROJECT (the upload file is consumed); a CSV is read
    with the reading options in FIELDS (csv_source), the others detected."""
    name = check_name(name)
    suffix = suffix_of(filename)
    if db.scalar(select(Dataset).where(Dataset.project_id == project.id, Dataset.name == name)):
        raise conflict("dataset_exists", f"Project {project.key} already has a dataset named {name!r}.")
    row = Dataset(project_id=project.id, name=name, kind="tabular", n_rows=0, columns=[], path="", created_by=user.id)
    db.add(row)
    db.flush()
    folder = storage.dataset_dir(settings, project.key, row.id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".data.parquet.tmp"
        image_columns: set[str] = set()
        if suffix == ".zip":
            table, image_columns = image_zip.ingest(
                upload, folder / "files", settings.max_zip_expanded_mb << 20, settings.min_free_disk_mb << 20
            )
            row.kind = "images"
            stored = table_store.write(table.schema, table.to_batches(), tmp)
        elif suffix == ".csv":
            stored = table_store.store_csv(upload, tmp, fields)
            row.source = stored.source.as_dict() if stored.source else None
        else:
            stored = table_store.store_parquet(upload, tmp)
        row.columns = schema_of(stored.sample, image_columns)
        row.n_rows = stored.n_rows
        tmp.replace(folder / "data.parquet")
        row.columns = column_stats.compute(folder / "data.parquet", row.columns)
        row.path = str(folder.relative_to(settings.data_root))
        row.size_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        db.flush()
    except BaseException:
        storage.remove_tree(folder, settings.data_root)
        raise
    finally:
        upload.unlink(missing_ok=True)
    return row


def of_project(db: Session, project: Project) -> list[Dataset]:
    """The datasets of PROJECT, oldest first."""
    return list(db.scalars(select(Dataset).where(Dataset.project_id == project.id).order_by(Dataset.id)))


def schema_of(sample: pa.Table, image_columns: set[str]) -> list[dict[str, Any]]:
    """Column names and inferred types, from SAMPLE (the table's first rows)."""
    schema = infer_schema(sample.to_pandas())
    for col in schema:
        if col["name"] in image_columns:
            col["type"] = "image"
    return schema


def parquet_path(settings: Settings, dataset: Dataset) -> Path:
    """The dataset's Parquet file."""
    return settings.data_root / dataset.path / "data.parquet"


def files_root(settings: Settings, dataset: Dataset) -> Path:
    """Folder holding an image dataset's files (image column values are relative to it)."""
    return settings.data_root / dataset.path / "files"


def image_cache_bytes(settings: Settings, dataset: Dataset) -> int:
    """Bytes of the dataset's preprocessed image caches (core/image_cache.py; deleted with its folder)."""
    if dataset.kind != "images" or not dataset.path:
        return 0
    return image_cache.size_bytes(settings.data_root / dataset.path)


def preview(settings: Settings, dataset: Dataset, limit: int) -> dict[str, Any]:
    """The first LIMIT rows as {columns, rows}."""
    if not 1 <= limit <= 10_000:
        raise ApiError(400, "bad_limit", f"limit={limit} must be between 1 and 10000.")
    pf = pq.ParquetFile(parquet_path(settings, dataset))
    batch = next(pf.iter_batches(batch_size=limit), None)
    columns = [c["name"] for c in dataset.columns]
    if batch is None:
        return {"columns": columns, "rows": []}
    data = batch.to_pylist()
    return {"columns": columns, "rows": [[json_value(r.get(c)) for c in columns] for r in data]}


def delete(db: Session, settings: Settings, dataset: Dataset) -> None:
    """Delete DATASET and its files; 409 while an analysis uses it."""
    used = db.scalar(select(Analysis.id).where(Analysis.dataset_id == dataset.id).limit(1))
    if used:
        raise conflict("dataset_in_use", f"Dataset {dataset.id} is used by analysis {used}; delete the analysis first.")
    # The whole folder goes: the Parquet file, the image files and their preprocessed caches (image_cache/).
    folder = settings.data_root / dataset.path if dataset.path else None
    db.delete(dataset)
    db.flush()
    if folder is not None:
        storage.remove_tree(folder, settings.data_root)


def upload(
    db: Session,
    settings: Settings,
    project: Project,
    user: User,
    name: str,
    filename: str,
    tmp: Path,
    fields: dict[str, str] | None = None,
) -> Dataset:
    """create_from_file for USER, recorded in the audit log (the caller commits)."""
    row = create_from_file(db, settings, project, user, name, filename, tmp, fields)
    audit.record(db, user, "dataset.create", str(row.id), project=project.key, name=row.name)
    return row


def remove(db: Session, settings: Settings, user: User, dataset: Dataset) -> None:
    """delete for USER, recorded in the audit log (the caller commits)."""
    project = db.get(Project, dataset.project_id)
    ident, name = dataset.id, dataset.name
    delete(db, settings, dataset)
    audit.record(db, user, "dataset.delete", str(ident), project=project.key if project else None, name=name)


def load_frame(settings: Settings, dataset: Dataset, columns: list[str] | None = None) -> Any:
    """The dataset as a pandas DataFrame (optionally only COLUMNS)."""
    return pq.read_table(parquet_path(settings, dataset), columns=columns).to_pandas()
