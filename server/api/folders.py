"""Routes: managed folders (data.md) — create, list, details with files, upload, download and delete files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from server.api import raw_upload
from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.api.responses import BINARY_FILE
from server.models import ManagedFolder, User
from server.schemas.folders import FileOut, FolderCreate, FolderDetail, FolderOut
from server.services import access, folders
from server.settings import Settings

router = APIRouter(tags=["folders"])


def folder_out(folder: ManagedFolder) -> FolderOut:
    """The API shape of a folder."""
    return FolderOut(id=folder.id, name=folder.name, project_key=folder.project.key, created_at=folder.created_at)


@router.post("/projects/{key}/folders", status_code=201)
def create_folder(
    key: str,
    body: FolderCreate,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> FolderOut:
    """Create a managed folder (writers)."""
    project = access.project(db, user, key, "writer")
    folder = folders.create(db, settings, project, user, body.name)
    db.commit()
    return folder_out(folder)


@router.get("/projects/{key}/folders")
def list_folders(
    key: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[FolderOut]:
    """The project's folders, oldest first (`limit`/`cursor` pages)."""
    project = access.project(db, user, key)
    rows = paginate(request, response, folders.of_project(db, project), page, lambda f: (f.id,))
    return [folder_out(f) for f in rows]


@router.get("/folders/{folder_id}")
def get_folder(
    folder_id: int,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> FolderDetail:
    """A folder and its files."""
    folder = folders.load(db, user, folder_id)
    files = [FileOut(**f) for f in folders.list_files(settings, folder)]
    return FolderDetail(**folder_out(folder).model_dump(), files=files)


@router.delete("/folders/{folder_id}", status_code=204)
def delete_folder(
    folder_id: int,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> Response:
    """Delete a folder with its files (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    folders.delete(db, settings, folder, user)
    db.commit()
    return Response(status_code=204)


def _put_file(
    db: Session, settings: Settings, folder: ManagedFolder, user: User, path: str, tmp: Path
) -> dict[str, Any]:
    info = folders.put_file(db, settings, folder, user, path, tmp)
    db.commit()
    return info


@router.put(
    "/folders/{folder_id}/files/{path:path}", status_code=201, openapi_extra={"requestBody": raw_upload.BINARY_BODY}
)
async def put_file(
    folder_id: int, path: str, request: Request, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> FileOut:
    """Upload a file (the request body, streamed) to PATH in the folder, replacing one there (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    folders.clean_path(path)  # refuse a bad path before reading the body
    info = await raw_upload.receive_and_store(
        request, settings, lambda tmp: _put_file(db, settings, folder, user, path, tmp), "Storing the file"
    )
    return FileOut(**info)


@router.get("/folders/{folder_id}/files/{path:path}", response_class=FileResponse, responses=BINARY_FILE)
def get_file(
    folder_id: int,
    path: str,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> FileResponse:
    """Download a file of the folder."""
    folder = folders.load(db, user, folder_id)
    target = folders.file_path(settings, folder, path)
    return FileResponse(target, media_type="application/octet-stream", filename=target.name)


@router.delete("/folders/{folder_id}/files/{path:path}", status_code=204)
def delete_file(
    folder_id: int,
    path: str,
    db: DbDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> Response:
    """Delete a file of the folder (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    folders.delete_file(db, settings, folder, user, path)
    db.commit()
    return Response(status_code=204)
