"""Pages: the projects list (and creating one), a project's page, and its members."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from server.api.deps import DbDep
from server.errors import ApiError
from server.models import User
from server.services import access, analyses, datasets, deletes, folders, projects, registry, upload_preview
from webui.web import CsrfForm, PageRoute, PageUser, commit_or_show, form_str, render

router = APIRouter(route_class=PageRoute)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbDep, user: PageUser) -> Response:
    """The projects the user can see, and a form to create one."""
    return _home(request, db, user)


def _home(
    request: Request, db: Session, user: User, error: ApiError | None = None, form: dict[str, str] | None = None
) -> Response:
    context = {"projects": projects.visible(db, user), "error": error, "form": form or {}}
    return render(request, "home.html", context, status_code=error.status if error else 200)


@router.post("/projects", response_class=HTMLResponse)
def create_project(
    request: Request,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
) -> Response:
    """Create a project; the user becomes its admin."""
    # Keys are upper-case: the form upper-cases what is typed (tables.js), and this does it for browsers without JS.
    key, name = form_str(form, "key").strip().upper(), form_str(form, "name")
    return commit_or_show(
        db,
        lambda: projects.create(db, user, key, name),
        lambda project: f"/projects/{project.key}",
        lambda exc: _home(request, db, user, exc, {"key": key, "name": name}),
    )


@router.get("/projects/{key}", response_class=HTMLResponse)
def project_page(key: str, request: Request, db: DbDep, user: PageUser) -> Response:
    """A project: its datasets (with the upload form), analyses, saved models and members."""
    return project_view(request, db, user, key)


def project_view(request: Request, db: Session, user: User, key: str, error: ApiError | None = None) -> Response:
    """The project page of KEY, with ERROR shown above it (folders.py shows its form errors here too)."""
    project = access.project(db, user, key)
    rights = access.rights(db, user, project)
    rows = datasets.of_project(db, project)
    names = {d.id: d.name for d in rows}
    task_counts = analyses.task_counts(db, project)
    context = {
        "project": project,
        "role": rights.role,
        "can_write": rights.can_write,
        "is_admin": rights.is_admin,
        "datasets": rows,
        "analyses": [
            {"row": a, "dataset": names.get(a.dataset_id, a.dataset_id), "tasks": task_counts.get(a.id, 0)}
            for a in analyses.of_project(db, project)
        ],
        "saved_models": registry.of_project(db, project),
        "folders": folders.of_project(db, project),
        "members": projects.members_by_name(project),
        "goes": deletes.describe(deletes.project_impact(db, project)),  # what the Delete dialog says goes with it
        "error": error,
        "workbook_preview_bytes": upload_preview.WORKBOOK_BYTES,
    }
    return render(request, "project.html", context, status_code=error.status if error else 200)


@router.post("/projects/{key}/members", response_class=HTMLResponse)
def set_member(
    key: str,
    request: Request,
    form: CsrfForm,
    db: DbDep,
    user: PageUser,
) -> Response:
    """Give a user a role in the project (admins)."""
    project = access.project(db, user, key, "admin")
    return commit_or_show(
        db,
        lambda: projects.set_member(db, user, project, form_str(form, "username").strip(), form_str(form, "role")),
        f"/projects/{key}#members",
        lambda exc: project_view(request, db, user, key, exc),
    )
