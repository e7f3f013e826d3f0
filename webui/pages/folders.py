"""Pages: a project's managed folder (files, upload with progress, delete), creating one, and the weights store
(site admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from server.api.deps import DbDep, SettingsDep
from server.errors import ApiError
from server.models import User
from server.services import access, folders, weights
from server.settings import Settings
from webui.pages.projects import project_view
from webui.web import CsrfForm, PageRoute, PageUser, commit_or_show, form_str, redirect, render

router = APIRouter(route_class=PageRoute)


@router.post("/projects/{key}/folders", response_class=HTMLResponse)
def create_folder(
    key: str,
    request: Request,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Create a folder (writers), then show it."""
    project = access.project(db, user, key, "writer")
    return commit_or_show(
        db,
        lambda: folders.create(db, settings, project, user, form_str(form, "name")),
        lambda folder: f"/folders/{folder.id}",
        lambda exc: project_view(request, db, user, key, exc),
    )


@router.get("/folders/{folder_id}", response_class=HTMLResponse)
def folder_page(
    folder_id: int,
    request: Request,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """A folder: its files (download, delete), an upload form with a progress bar, how code cells read it."""
    return _folder(request, db, user, settings, folder_id)


def _folder(
    request: Request, db: Session, user: User, settings: Settings, folder_id: int, error: ApiError | None = None
) -> Response:
    folder = folders.load(db, user, folder_id)
    files = folders.list_files(settings, folder)
    context = {
        "folder": folder,
        "project": folder.project,
        "files": files,
        "total": sum(f["size"] for f in files),
        "can_write": access.rights(db, user, folder.project).can_write,
        "error": error,
    }
    return render(request, "folder.html", context, status_code=error.status if error else 200)


@router.post("/folders/{folder_id}/delete-file", response_class=HTMLResponse)
def delete_file(
    folder_id: int,
    request: Request,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Delete one file (writers)."""
    folder = folders.load(db, user, folder_id, "writer")
    return commit_or_show(
        db,
        lambda: folders.delete_file(db, settings, folder, user, form_str(form, "path")),
        f"/folders/{folder_id}",
        lambda exc: _folder(request, db, user, settings, folder_id, exc),
    )


@router.post("/folders/{folder_id}/delete", response_class=HTMLResponse)
def delete_folder(
    folder_id: int,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Delete the folder and its files (writers), back to the project."""
    folder = folders.load(db, user, folder_id, "writer")
    key = folder.project.key
    folders.delete(db, settings, folder, user)
    db.commit()
    return redirect(f"/projects/{key}#folders")


@router.get("/admin/weights", response_class=HTMLResponse)
def weights_page(request: Request, user: PageUser, settings: SettingsDep) -> Response:
    """The site-wide weights store: its files and an upload form (site admins)."""
    access.require_site_admin(user, "manage the weights store")
    files = weights.list_files(settings)
    return render(request, "weights.html", {"files": files, "store": settings.weights_store})


@router.post("/admin/weights/delete", response_class=HTMLResponse)
def delete_weights(form: CsrfForm, user: PageUser, settings: SettingsDep) -> Response:
    """Remove a weights file (site admins)."""
    access.require_site_admin(user, "manage the weights store")
    weights.delete(settings, form_str(form, "name"))
    return redirect("/admin/weights")
