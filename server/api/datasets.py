"""Routes: datasets (multipart upload, details, preview, delete)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from server.api import uploads
from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.models import Dataset, Project, User
from server.schemas.datasets import DatasetOut, PreviewOut
from server.services import access, datasets
from server.settings import Settings

router = APIRouter(tags=["datasets"])


def dataset_out(ds: Dataset) -> DatasetOut:
    """The API shape of a dataset."""
    return DatasetOut(
        id=ds.id,
        name=ds.name,
        kind=ds.kind,
        n_rows=ds.n_rows,
        columns=ds.columns,
        size_bytes=ds.size_bytes,
        created_at=ds.created_at,
    )


def _create(
    db: Session, settings: Settings, project: Project, user: User, name: str, filename: str, tmp: Path
) -> Dataset:
    ds = datasets.upload(db, settings, project, user, name, filename, tmp)
    db.commit()
    return ds


UPLOAD_BODY = uploads.named_file_body("DatasetUpload", "A .csv, .parquet or .zip (of images) file.")


@router.post("/projects/{key}/datasets", status_code=201, openapi_extra={"requestBody": UPLOAD_BODY})
async def upload_dataset(key: str, request: Request, db: DbDep, user: CurrentUser, settings: SettingsDep) -> DatasetOut:
    """Upload a CSV, Parquet or image ZIP (multipart fields name and file) as a new dataset."""
    project = access.project(db, user, key, "writer")
    ds = await uploads.receive_named_file(
        request,
        settings,
        datasets.suffix_of,
        lambda name, filename, tmp: _create(db, settings, project, user, name, filename, tmp),
        "Storing the upload",
    )
    return dataset_out(ds)


@router.get("/projects/{key}/datasets")
def list_datasets(key: str, db: DbDep, user: CurrentUser) -> list[DatasetOut]:
    """The project's datasets."""
    project = access.project(db, user, key)
    return [dataset_out(d) for d in datasets.of_project(db, project)]


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: int, db: DbDep, user: CurrentUser) -> DatasetOut:
    """One dataset's metadata and schema."""
    return dataset_out(access.dataset(db, user, dataset_id))


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
