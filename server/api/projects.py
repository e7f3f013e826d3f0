"""Routes: /projects and members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from server.api.deps import current_user, settings_dep
from server.db import get_db
from server.models import Project, User
from server.schemas.requests import MemberPut, ProjectCreate
from server.services import access, projects
from server.settings import Settings

router = APIRouter(tags=["projects"])


def project_dict(project: Project) -> dict[str, Any]:
    """The API shape of a project."""
    return {
        "key": project.key,
        "name": project.name,
        "owner": project.owner.username,
        "created_at": project.created_at,
        "members": projects.members(project),
    }


@router.post("/projects", status_code=201)
def create_project(
    body: ProjectCreate, db: Session = Depends(get_db), user: User = Depends(current_user)
) -> dict[str, Any]:
    """Create a project; the caller becomes its admin."""
    project = projects.create(db, user, body.key, body.name)
    db.commit()
    return project_dict(project)


@router.get("/projects")
def list_projects(db: Session = Depends(get_db), user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """The projects the caller can see."""
    return [project_dict(p) for p in projects.visible(db, user)]


@router.get("/projects/{key}")
def get_project(key: str, db: Session = Depends(get_db), user: User = Depends(current_user)) -> dict[str, Any]:
    """One project with its members."""
    return project_dict(access.project(db, user, key))


@router.delete("/projects/{key}", status_code=204)
def delete_project(
    key: str,
    db: Session = Depends(get_db),
    user: User = Depends(current_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Delete a project with its data and artifacts (admins)."""
    project = access.project(db, user, key, "admin")
    projects.delete(db, settings, user, project)
    db.commit()
    return Response(status_code=204)


@router.put("/projects/{key}/members/{username}")
def put_member(
    key: str, username: str, body: MemberPut, db: Session = Depends(get_db), user: User = Depends(current_user)
) -> dict[str, Any]:
    """Give a user a role in the project (admins)."""
    project = access.project(db, user, key, "admin")
    member = projects.set_member(db, user, project, username, body.role)
    db.commit()
    return {"user": username, "role": member.role}
