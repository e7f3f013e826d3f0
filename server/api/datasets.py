"""Routes: datasets (multipart upload, details, preview, download, delete)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session

from server.api import uploads
from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.api.responses import binary_file
from server.models import Dataset, Project, User
from server.schemas.datasets import ColumnTypeIn, ColumnTypeOut, DatasetOut, PreviewOut, SniffOut
from server.services import (
    access,
    csv_options,
    csv_source,
    dataset_columns,
    dataset_download,
    datasets,
    packed_tables,
    spreadsheets,
    upload_preview,
)
from server.settings import Settings

router = APIRouter(tags=["datasets"])


def dataset_out(ds: Dataset, settings: Settings | None = None) -> DatasetOut:
    """The API shape of a dataset (with its image caches' size when SETTINGS says where they are)."""
    return DatasetOut(
        id=ds.id,
        name=ds.name,
        kind=ds.kind,
        n_rows=ds.n_rows,
        columns=ds.columns,
        size_bytes=ds.size_bytes,
        image_cache_bytes=datasets.image_cache_bytes(settings, ds) if settings else 0,
        created_at=ds.created_at,
        source=ds.source,
    )


def _create(
    db: Session, settings: Settings, project: Project, user: User, fields: dict[str, str], filename: str, tmp: Path
) -> Dataset:
    ds = datasets.upload(db, settings, project, user, fields["name"], filename, tmp, fields)
    datasets.commit_upload(db, settings, ds)
    return ds


def _upload_body(title: str) -> dict[str, object]:
    """The upload's OpenAPI body: name, file and the optional reading options (all text fields)."""
    body = uploads.named_file_body(
        title,
        f"A {csv_source.DELIMITED_NAMES}, .xlsx (.xlsm, .xls, .xlsb), .ods, .json (.jsonl, .ndjson), .parquet or "
        "SPSS, Stata or SAS file, compressed (.gz, .bz2, .xz, .zst) or not or alone in a .zip, or a .zip of images.",
    )
    schema = body["content"]["multipart/form-data"]["schema"]  # type: ignore[index]
    for option in csv_options.OPTION_FIELDS:
        schema["properties"][option] = {"type": "string", "title": option, "description": "CSV reading option"}
    schema["properties"][packed_tables.MEMBER_FIELD] = {
        "type": "string",
        "title": packed_tables.MEMBER_FIELD,
        "description": "The table to read in a .zip that holds several (its path or name)",
    }
    schema["properties"][spreadsheets.SHEET_FIELD] = {
        "type": "string",
        "title": spreadsheets.SHEET_FIELD,
        "description": "The sheet of an Excel workbook to read (its name, or its number from 1); the first otherwise",
    }
    return body


UPLOAD_BODY = _upload_body("DatasetUpload")
SNIFF_BODY = _upload_body("DatasetSniff")
SNIFF_BODY["content"]["multipart/form-data"]["schema"]["required"] = ["file"]  # type: ignore[index]


@router.post("/projects/{key}/datasets", status_code=201, openapi_extra={"requestBody": UPLOAD_BODY})
async def upload_dataset(key: str, request: Request, db: DbDep, user: CurrentUser, settings: SettingsDep) -> DatasetOut:
    """Upload a CSV, Parquet or image ZIP (multipart fields name and file) as a new dataset."""
    project = access.project(db, user, key, "writer")
    ds = await uploads.receive_form_file(
        request,
        settings,
        datasets.suffix_of,
        lambda fields, filename, tmp: _create(db, settings, project, user, fields, filename, tmp),
        "Storing the upload",
    )
    return dataset_out(ds)


@router.post("/projects/{key}/datasets/sniff", openapi_extra={"requestBody": SNIFF_BODY})
async def sniff_dataset(key: str, request: Request, db: DbDep, user: CurrentUser, settings: SettingsDep) -> SniffOut:
    """How a CSV upload or a workbook's sheet would be read (same multipart body; only a CSV's first MiBs are kept, a
    workbook whole up to 64 MB): nothing is stored."""
    access.project(db, user, key, "writer")
    answer = await uploads.receive_form_file(
        request,
        settings,
        datasets.suffix_of,
        lambda fields, filename, tmp: upload_preview.preview_upload(settings, tmp, filename, fields),
        "Previewing the upload",
        required=("file",),
        head=upload_preview.head_bytes,
    )
    return SniffOut(**answer)


def _by_id(row: Dataset) -> tuple[int]:
    return (row.id,)


@router.get("/projects/{key}/datasets")
def list_datasets(
    key: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[DatasetOut]:
    """The project's datasets, oldest first (`limit`/`cursor` pages)."""
    project = access.project(db, user, key)
    return [dataset_out(d) for d in paginate(request, response, datasets.of_project(db, project), page, _by_id)]


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep) -> DatasetOut:
    """One dataset's metadata and schema, with each column's stats and hints (computed here for older datasets)."""
    ds = access.dataset(db, user, dataset_id)
    if dataset_columns.ensure_stats(db, settings, ds):
        db.commit()
    return dataset_out(ds, settings)


# name:path: a column's name may hold a slash ("Umsatz/Monat", "km/h"), which a page's link leaves as it is
@router.patch("/datasets/{dataset_id}/columns/{name:path}")
def change_column_type(
    dataset_id: int, name: str, body: ColumnTypeIn, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> ColumnTypeOut:
    """Change a column's type; the answer counts the values that do not parse as it (they read as missing)."""
    ds = access.dataset(db, user, dataset_id, "writer")
    column = dataset_columns.change_type(db, settings, user, ds, name, body.type)
    db.commit()
    return ColumnTypeOut(**column)


@router.get("/datasets/{dataset_id}/preview", response_model=PreviewOut)
def preview_dataset(
    dataset_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep, limit: int = 50
) -> dict[str, object]:
    """The first rows of a dataset."""
    ds = access.dataset(db, user, dataset_id)
    return datasets.preview(settings, ds, limit)


@router.delete("/datasets/{dataset_id}", status_code=204)
def delete_dataset(dataset_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Delete a dataset (409 while an analysis uses it)."""
    ds = access.dataset(db, user, dataset_id, "writer")
    datasets.remove(db, settings, user, ds)
    db.commit()
    return Response(status_code=204)


@router.get(
    "/datasets/{dataset_id}/download",
    response_class=Response,
    responses=binary_file(*dataset_download.FORMATS.values()),
)
def download_dataset(
    dataset_id: int, db: DbDep, user: CurrentUser, settings: SettingsDep, format: str = "parquet"
) -> Response:
    """The dataset's table as `?format=parquet` (the stored file) or `csv` (streamed in batches)."""
    ds = access.dataset(db, user, dataset_id)
    fmt = dataset_download.check_format(format)
    path = dataset_download.stored_file(settings, ds)
    headers = {"Content-Disposition": dataset_download.disposition(ds, fmt)}
    if fmt == "parquet":
        return FileResponse(path, media_type=dataset_download.FORMATS[fmt], headers=headers)
    return StreamingResponse(
        dataset_download.csv_chunks(path), media_type=dataset_download.FORMATS[fmt], headers=headers
    )
