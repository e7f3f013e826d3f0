"""Routes: datasets (multipart upload, details, preview, delete)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api import uploads
from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import Dataset, Project, User
from server.services import access, audit, datasets
from server.settings import Settings

router = APIRouter(tags=["datasets"])


def dataset_dict(ds: Dataset) -> dict[str, Any]:
    """The API shape of a dataset."""
    return {
        "id": ds.id,
        "name": ds.name,
        "kind": ds.kind,
        "n_rows": ds.n_rows,
        "columns": ds.columns,
        "size_bytes": ds.size_bytes,
        "created_at": ds.created_at,
    }


def _create(
    db: Session, settings: Settings, project: Project, user: User, name: str, filename: str, tmp: Path
) -> Dataset:
    ds = datasets.create_from_file(db, settings, project, user, name, filename, tmp)
    audit.record(db, user, "dataset.create", str(ds.id), project=project.key, name=ds.name)
    db.commit()
    return ds


UPLOAD_BODY = uploads.named_file_body("DatasetUpload", "A .csv, .parquet or .zip (of images) file.")


@router.post("/projects/{key}/datasets", status_code=201, openapi_extra={"requestBody": UPLOAD_BODY})
async def upload_dataset(
    key: str,
    request: Request,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """Upload a CSV, Parquet or image ZIP (multipart fields name and file) as a new dataset."""
    project = access.project(db, user, key, "writer")
    ds = await uploads.receive_named_file(
        request,
        settings,
        datasets.suffix_of,
        lambda name, filename, tmp: _create(db, settings, project, user, name, filename, tmp),
        "Storing the upload",
    )
    return dataset_dict(ds)


@router.get("/projects/{key}/datasets")
def list_datasets(key: str, db: Session = Depends(get_db), user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """The project's datasets."""
    project = access.project(db, user, key)
    rows = db.scalars(select(Dataset).where(Dataset.project_id == project.id).order_by(Dataset.id))
    return [dataset_dict(d) for d in rows]


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: int, db: Session = Depends(get_db), user: User = Depends(current_user)) -> dict[str, Any]:
    """One dataset's metadata and schema."""
    return dataset_dict(access.dataset(db, user, dataset_id))


@router.get("/datasets/{dataset_id}/preview")
def preview_dataset(
    dataset_id: int,
    limit: int = 50,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> dict[str, Any]:
    """The first rows of a dataset."""
    ds = access.dataset(db, user, dataset_id)
    return datasets.preview(settings, ds, limit)


@router.delete("/datasets/{dataset_id}", status_code=204)
def delete_dataset(
    dataset_id: int,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete a dataset (409 while an analysis uses it)."""
    ds = access.dataset(db, user, dataset_id, "writer")
    project = db.get(Project, ds.project_id)
    ident, name = ds.id, ds.name
    datasets.delete(db, settings, ds)
    audit.record(db, user, "dataset.delete", str(ident), project=project.key if project else None, name=name)
    db.commit()
    return Response(status_code=204)
