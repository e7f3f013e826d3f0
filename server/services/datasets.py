"""Datasets: receive an upload, infer its schema, store it as Parquet under the data root, preview it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import image_cache
from server.errors import ApiError, conflict, invalid
from server.models import Analysis, Dataset, Project, User
from server.services import (
    audit,
    column_stats,
    csv_source,
    image_zip,
    json_tables,
    packed_tables,
    parse_process,
    spreadsheets,
    stat_files,
    storage,
    table_store,
    tar_archives,
)
from server.services.json_cells import json_value
from server.services.type_inference import infer_schema
from server.settings import Settings

SUPPORTED = (*csv_source.DELIMITED, *json_tables.SUFFIXES, *spreadsheets.SUFFIXES, *stat_files.SUFFIXES, ".parquet")
SUPPORTED += (".zip",)
# Apple's Numbers workbooks are not read (docs/decisions.md): the 415 says how to save one.
SPREADSHEETS = (".numbers",)


def check_name(name: str) -> str:
    """A dataset name: 1-200 printable characters."""
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise invalid(f"Dataset name {name!r} must be 1-200 printable characters.", code="bad_name")
    return name


def suffix_of(filename: str) -> str:
    """The lower-case extension of FILENAME (`.csv.gz` for a compressed table: packed_tables); 415 unless it is one
    we read."""
    if tar_archives.is_tar(filename):
        return tar_archives.SUFFIX
    if packed := packed_tables.packed_suffix(filename):
        return packed
    if refused := packed_tables.refused(filename):
        raise refused
    suffix = Path(filename or "").suffix.lower()
    if suffix in SPREADSHEETS:
        raise ApiError(
            415,
            "unsupported_file",
            f"File {filename!r} is a spreadsheet fitstudio does not read; it reads Excel workbooks (.xlsx, .xlsm, "
            ".xls, .xlsb), OpenDocument spreadsheets (.ods) and CSV. In Numbers: File > Export To > Excel or CSV. "
            "Then upload that file.",
        )
    if suffix not in SUPPORTED:
        raise ApiError(
            415,
            "unsupported_file",
            f"File {filename!r} is not {csv_source.DELIMITED_NAMES}, .json (.jsonl, .ndjson), .xlsx (.xlsm, .xls, "
            ".xlsb), .ods, .parquet, a statistics file (.sav, .dta, .sas7bdat, .xpt, .por), .zip or a tar archive "
            "(.tar, .tgz, .tar.gz, .tar.bz2, .tar.xz); upload one of those (a table may be compressed: .gz, .bz2, .xz, "
            ".zst).",
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
    with the reading options in FIELDS (csv_source), the others detected.

    The file is parsed and profiled in a staging folder before anything is written to the database, so no write
    transaction is open meanwhile (SQLite has one writer at a time); then the row is inserted and the folder
    renamed into place: milliseconds until the caller commits.
    """
    name = check_name(name)
    suffix = suffix_of(filename)
    key = project.key  # a rollback below expires PROJECT
    if _name_taken(db, project.id, name):
        raise _exists(key, name)
    staging = storage.dataset_staging_dir(settings, key)
    folder: Path | None = None
    try:
        parsed = _stage(settings, key, suffix, upload, staging, fields)
        row = _insert(db, project.id, key, user, name, parsed)
        folder = storage.dataset_dir(settings, key, row.id)
        _place(staging, folder, settings.data_root)
        row.path = str(folder.relative_to(settings.data_root))
        db.flush()
    except BaseException:
        storage.remove_tree(staging, settings.data_root)
        if folder is not None:
            storage.remove_tree(folder, settings.data_root)
        raise
    finally:
        upload.unlink(missing_ok=True)
    return row


@dataclass(frozen=True)
class _Parsed:
    """An upload stored in its staging folder: what its dataset row records."""

    kind: str
    columns: list[dict[str, Any]]
    n_rows: int
    source: dict[str, Any] | None
    size_bytes: int


def _stage(
    settings: Settings, key: str, suffix: str, upload: Path, staging: Path, fields: dict[str, str] | None
) -> _Parsed:
    """_parse into STAGING, in a parse process; 409 project_changed when project KEY's folder was deleted meanwhile."""
    try:
        return parse_process.run(settings, _parse, settings, suffix, upload, staging, fields)
    except FileNotFoundError:
        if staging.parent.exists():
            raise
        raise _project_changed(key) from None


def _parse(settings: Settings, suffix: str, upload: Path, folder: Path, fields: dict[str, str] | None) -> _Parsed:
    """Store UPLOAD in the new FOLDER as data.parquet (an image archive's files under files/), columns profiled."""
    folder.mkdir(parents=True)
    with packed_tables.unpacked(upload, suffix, fields or {}, *expansion_limits(settings)) as (table, inner, packed):
        kind, source, stored, image_columns = _store(settings, inner, table, folder, fields)
    if source is not None:
        source.update(packed)  # how it was unpacked, said beside how it was read
    columns = schema_of(stored.sample, image_columns)
    (folder / ".data.parquet.tmp").replace(folder / "data.parquet")
    columns = column_stats.compute(folder / "data.parquet", columns)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return _Parsed(kind, columns, stored.n_rows, source, size)


def _store(
    settings: Settings, suffix: str, upload: Path, folder: Path, fields: dict[str, str] | None
) -> tuple[str, dict[str, Any] | None, table_store.Stored, set[str]]:
    """UPLOAD (a file of SUFFIX) stored as FOLDER's .data.parquet.tmp: its kind, source (how a CSV was read, or the
    images an archive left out), storing and image columns."""
    tmp = folder / ".data.parquet.tmp"
    kind, source, image_columns = "tabular", None, set()
    if suffix == ".zip":
        member = (fields or {}).get(packed_tables.MEMBER_FIELD)  # the table that labels the images, if several
        archive = image_zip.ingest(upload, folder / "files", *expansion_limits(settings), member=member)
        kind, source, image_columns = "images", archive.left_out, archive.image_columns
        stored = table_store.write(archive.table.schema, archive.table.to_batches(), tmp)
    elif suffix in csv_source.DELIMITED:
        stored = table_store.store_csv(upload, tmp, fields, settings.upload_memory_mb)
        source = stored.source.as_dict() if stored.source else None
    elif suffix in stat_files.SUFFIXES:
        stored = stat_files.store(upload, suffix, tmp)
    elif suffix in json_tables.SUFFIXES:
        stored = json_tables.store_json(upload, tmp, settings.upload_memory_mb)
    elif suffix in spreadsheets.SUFFIXES:
        return _store_sheet(settings, suffix, upload, tmp, fields)
    else:
        stored = table_store.store_parquet(upload, tmp)
    return kind, source, stored, image_columns


def expansion_limits(settings: Settings) -> tuple[int, int]:
    """What an upload may write once unpacked or extracted, and the disk's bytes it must leave free."""
    return settings.max_zip_expanded_mb << 20, settings.min_free_disk_mb << 20


def _store_sheet(
    settings: Settings, suffix: str, upload: Path, tmp: Path, fields: dict[str, str] | None
) -> tuple[str, dict[str, Any] | None, table_store.Stored, set[str]]:
    """_store of a workbook: its sheet written out as a CSV (spreadsheets), then stored as a CSV upload is."""
    budget = image_zip.Budget.on_disk_of(upload.parent, *expansion_limits(settings))
    with (
        spreadsheets.as_csv(upload, suffix, fields or {}, budget) as (sheet_csv, options, about),
        spreadsheets.sheet_named_in_errors(about),
    ):
        stored = table_store.store_csv(sheet_csv, tmp, options, settings.upload_memory_mb)
    return "tabular", spreadsheets.sheet_source(stored.source.as_dict() if stored.source else {}, about), stored, set()


def _insert(db: Session, project_id: int, key: str, user: User, name: str, parsed: _Parsed) -> Dataset:
    """Add the row of PARSED (its path set once it has an id); 409 when the name was taken meanwhile."""
    row = Dataset(
        project_id=project_id,
        name=name,
        kind=parsed.kind,
        n_rows=parsed.n_rows,
        columns=parsed.columns,
        source=parsed.source,
        path="",
        size_bytes=parsed.size_bytes,
        created_by=user.id,
    )
    db.add(row)
    try:
        db.flush()
    except IntegrityError:  # the same name uploaded meanwhile, or the project deleted
        db.rollback()
        if _name_taken(db, project_id, name):
            raise _exists(key, name) from None
        raise _project_changed(key) from None
    return row


def _place(staging: Path, folder: Path, root: Path) -> None:
    """Rename STAGING to FOLDER (same parent folder: one rename). A folder already there is the leftover of an
    upload that never committed (no row can hold the id just issued), so it goes first."""
    if folder.exists():
        storage.remove_tree(folder, root)
    staging.rename(folder)


def _name_taken(db: Session, project_id: int, name: str) -> bool:
    return db.scalar(select(Dataset.id).where(Dataset.project_id == project_id, Dataset.name == name)) is not None


def _exists(key: str, name: str) -> ApiError:
    return conflict("dataset_exists", f"Project {key} already has a dataset named {name!r}.")


def _project_changed(key: str) -> ApiError:
    return conflict("project_changed", f"Project {key} was deleted or changed during the upload; nothing was stored.")


def commit_upload(db: Session, settings: Settings, dataset: Dataset) -> None:
    """Commit the new DATASET; its files are removed when the commit fails (nothing is left half-made)."""
    folder = settings.data_root / dataset.path
    try:
        db.commit()
    except BaseException:
        storage.remove_tree(folder, settings.data_root)
        raise


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
