"""Routes: managed folders (data.md) — create, list, details with files, upload, download and delete files."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from server.api import raw_upload
from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.errors import insufficient_storage, is_disk_full
from server.models import ManagedFolder, User
from server.schemas.folders import FileOut, FolderCreate, FolderDetail, FolderOut
from server.services import access, folders, storage
from server.settings import Settings

router = APIRouter(tags=["folders"])


def folder_out(folder: ManagedFolder) -> FolderOut:
    """The API shape of a folder."""
    return FolderOut(id=folder.id, name=folder.name, project_key=folder.project.key, created_at=folder.created_at)


@router.post("/projects/{key}/folders", status_code=201)
def create_folder(
    key: str,
    body: FolderCreate,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> FolderOut:
    """Create a managed folder (writers)."""
    project = access.project(db, user, key, "writer")
    folder = folders.create(db, settings, project, user, body.name)
    db.commit()
    return folder_out(folder)


@router.get("/projects/{key}/folders")
def list_folders(key: str, db: Session = Depends(get_db), user: User = Depends(current_user)) -> list[FolderOut]:
    """The project's folders."""
    project = access.project(db, user, key)
    return [folder_out(f) for f in folders.of_project(db, project)]


@router.get("/folders/{folder_id}")
def get_folder(
    folder_id: int,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> FolderDetail:
    """A folder and its files."""
    folder = folders.load(db, user, folder_id)
    files = [FileOut(**f) for f in folders.list_files(settings, folder)]
    return FolderDetail(**folder_out(folder).model_dump(), files=files)


@router.delete("/folders/{folder_id}", status_code=204)
def delete_folder(
    folder_id: int,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete a folder with its files (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    folders.delete(db, settings, folder, user)
    db.commit()
    return Response(status_code=204)


@router.put(
    "/folders/{folder_id}/files/{path:path}",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_file(
    folder_id: int,
    path: str,
    request: Request,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> FileOut:
    """Upload a file (the request body, streamed) to PATH in the folder, replacing one there (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    folders.clean_path(path)  # refuse a bad path before reading the body
    tmp = storage.upload_tmp(settings)
    try:
        await raw_upload.receive_file(request, tmp, settings)
        info = await run_in_threadpool(folders.put_file, db, settings, folder, user, path, tmp)
        db.commit()
    except (OSError, SQLAlchemyError) as exc:
        if is_disk_full(exc):
            raise insufficient_storage("Storing the file") from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return FileOut(**info)


@router.get("/folders/{folder_id}/files/{path:path}", response_class=FileResponse)
def get_file(
    folder_id: int,
    path: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> FileResponse:
    """Download a file of the folder."""
    folder = folders.load(db, user, folder_id)
    target = folders.file_path(settings, folder, path)
    return FileResponse(target, media_type="application/octet-stream", filename=target.name)


@router.delete("/folders/{folder_id}/files/{path:path}", status_code=204)
def delete_file(
    folder_id: int,
    path: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete a file of the folder (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    folders.delete_file(db, settings, folder, user, path)
    db.commit()
    return Response(status_code=204)
