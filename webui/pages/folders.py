"""Pages: a project's managed folder (files, upload with progress, delete), creating one, and the weights store
(site admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from server.api.deps import settings_dep
from server.db import get_db
from server.errors import ApiError
from server.models import User
from server.services import access, auth, folders, weights
from server.settings import Settings
from webui.web import PageRoute, csrf_form, form_str, page_user, redirect, render

router = APIRouter(route_class=PageRoute)


@router.post("/projects/{key}/folders", response_class=HTMLResponse)
def create_folder(
    key: str,
    request: Request,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Create a folder (writers), then show it."""
    project = access.project(db, user, key, "writer")
    try:
        folder = folders.create(db, settings, project, user, form_str(form, "name"))
        db.commit()
    except ApiError as exc:
        db.rollback()
        from webui.pages.projects import _project

        return _project(request, db, user, key, exc)
    return redirect(f"/folders/{folder.id}")


@router.get("/folders/{folder_id}", response_class=HTMLResponse)
def folder_page(
    folder_id: int,
    request: Request,
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """A folder: its files (download, delete), an upload form with a progress bar, how code cells read it."""
    return _folder(request, db, user, settings, folder_id)


def _folder(
    request: Request, db: Session, user: User, settings: Settings, folder_id: int, error: ApiError | None = None
) -> Response:
    folder = folders.load(db, user, folder_id)
    role = auth.role_in(db, user, folder.project)
    files = folders.list_files(settings, folder)
    context = {
        "folder": folder,
        "project": folder.project,
        "files": files,
        "total": sum(f["size"] for f in files),
        "can_write": role in ("writer", "admin"),
        "error": error,
    }
    return render(request, "folder.html", context, status_code=error.status if error else 200)


@router.post("/folders/{folder_id}/delete-file", response_class=HTMLResponse)
def delete_file(
    folder_id: int,
    request: Request,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete one file (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    try:
        folders.delete_file(db, settings, folder, user, form_str(form, "path"))
        db.commit()
    except ApiError as exc:
        db.rollback()
        return _folder(request, db, user, settings, folder_id, exc)
    return redirect(f"/folders/{folder_id}")


@router.post("/folders/{folder_id}/delete", response_class=HTMLResponse)
def delete_folder(
    folder_id: int,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete the folder and its files (writers), back to the project."""
    folder = folders.load(db, user, folder_id, "writer")
    key = folder.project.key
    folders.delete(db, settings, folder, user)
    db.commit()
    return redirect(f"/projects/{key}#folders")


def _site_admin(user: User) -> None:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "Only site admins manage the weights store.")


@router.get("/admin/weights", response_class=HTMLResponse)
def weights_page(
    request: Request, user: User = Depends(page_user), settings: Settings = Depends(settings_dep)
) -> Response:
    """The site-wide weights store: its files and an upload form (site admins)."""
    _site_admin(user)
    files = weights.list_files(settings)
    return render(request, "weights.html", {"files": files, "store": settings.weights_store})


@router.post("/admin/weights/delete", response_class=HTMLResponse)
def delete_weights(
    form: FormData = Depends(csrf_form), user: User = Depends(page_user), settings: Settings = Depends(settings_dep)
) -> Response:
    """Remove a weights file (site admins)."""
    _site_admin(user)
    weights.delete(settings, form_str(form, "name"))
    return redirect("/admin/weights")
