"""Pages: the projects list (and creating one), a project's page, and its members."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from server.db import get_db
from server.errors import ApiError
from server.models import Analysis, Dataset, MLTask, User
from server.services import access, analyses, auth, folders, projects, registry
from webui.web import PageRoute, csrf_form, form_str, page_user, redirect, render

router = APIRouter(route_class=PageRoute)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Session = Depends(get_db), user: User = Depends(page_user)) -> Response:
    """The projects the user can see, and a form to create one."""
    return _home(request, db, user)


def _home(
    request: Request, db: Session, user: User, error: ApiError | None = None, form: dict[str, str] | None = None
) -> Response:
    rows = projects.visible(db, user)
    owner_ids = {p.owner_id for p in rows}
    if owner_ids:  # one query loads every owner; p.owner then comes from the identity map
        list(db.scalars(select(User).where(User.id.in_(owner_ids))))
    context = {"projects": rows, "error": error, "form": form or {}}
    return render(request, "home.html", context, status_code=error.status if error else 200)


@router.post("/projects", response_class=HTMLResponse)
def create_project(
    request: Request,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
) -> Response:
    """Create a project; the user becomes its admin."""
    key, name = form_str(form, "key").strip(), form_str(form, "name")
    try:
        project = projects.create(db, user, key, name)
        db.commit()
    except ApiError as exc:
        db.rollback()
        return _home(request, db, user, exc, {"key": key, "name": name})
    return redirect(f"/projects/{project.key}")


@router.get("/projects/{key}", response_class=HTMLResponse)
def project_page(
    key: str, request: Request, db: Session = Depends(get_db), user: User = Depends(page_user)
) -> Response:
    """A project: its datasets (with the upload form), analyses, saved models and members."""
    return _project(request, db, user, key)


def _project(request: Request, db: Session, user: User, key: str, error: ApiError | None = None) -> Response:
    project = access.project(db, user, key)
    role = auth.role_in(db, user, project)
    datasets = list(db.scalars(select(Dataset).where(Dataset.project_id == project.id).order_by(Dataset.id)))
    names = {d.id: d.name for d in datasets}
    task_counts = dict(
        db.execute(
            select(MLTask.analysis_id, func.count(MLTask.id))
            .join(Analysis, MLTask.analysis_id == Analysis.id)
            .where(Analysis.project_id == project.id)
            .group_by(MLTask.analysis_id)
        ).all()
    )
    context = {
        "project": project,
        "role": role,
        "can_write": role in ("writer", "admin"),
        "is_admin": role == "admin",
        "datasets": datasets,
        "analyses": [
            {"row": a, "dataset": names.get(a.dataset_id, a.dataset_id), "tasks": task_counts.get(a.id, 0)}
            for a in analyses.of_project(db, project)
        ],
        "saved_models": registry.of_project(db, project),
        "folders": folders.of_project(db, project),
        "members": sorted(project.members, key=lambda m: m.user.username),
        "error": error,
    }
    return render(request, "project.html", context, status_code=error.status if error else 200)


@router.post("/projects/{key}/members", response_class=HTMLResponse)
def set_member(
    key: str,
    request: Request,
    form: FormData = Depends(csrf_form),
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
) -> Response:
    """Give a user a role in the project (admins)."""
    project = access.project(db, user, key, "admin")
    try:
        projects.set_member(db, user, project, form_str(form, "username").strip(), form_str(form, "role"))
        db.commit()
    except ApiError as exc:
        db.rollback()
        return _project(request, db, user, key, exc)
    return redirect(f"/projects/{key}#members")
