"""Routes: /projects and members."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.models import Project
from server.schemas.projects import MemberOut, ProjectOut
from server.schemas.requests import MemberPut, ProjectCreate
from server.services import access, projects

router = APIRouter(tags=["projects"])


def project_out(project: Project) -> ProjectOut:
    """The API shape of a project."""
    return ProjectOut(
        key=project.key,
        name=project.name,
        owner=project.owner.username,
        created_at=project.created_at,
        members=[MemberOut(**m) for m in projects.members(project)],
    )


@router.post("/projects", status_code=201)
def create_project(body: ProjectCreate, db: DbDep, user: CurrentUser) -> ProjectOut:
    """Create a project; the caller becomes its admin."""
    project = projects.create(db, user, body.key, body.name)
    db.commit()
    return project_out(project)


@router.get("/projects")
def list_projects(
    request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[ProjectOut]:
    """The projects the caller can see, by key (`limit`/`cursor` pages, docs/decisions.md)."""
    rows = paginate(request, response, projects.visible(db, user), page, lambda p: (p.key,))
    return [project_out(p) for p in rows]


@router.get("/projects/{key}")
def get_project(key: str, db: DbDep, user: CurrentUser) -> ProjectOut:
    """One project with its members."""
    return project_out(access.project(db, user, key))


@router.delete("/projects/{key}", status_code=204)
def delete_project(key: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Delete a project with its data and artifacts (admins)."""
    project = access.project(db, user, key, "admin")
    projects.delete(db, settings, user, project)
    db.commit()
    return Response(status_code=204)


@router.put("/projects/{key}/members/{username}")
def put_member(key: str, username: str, body: MemberPut, db: DbDep, user: CurrentUser) -> MemberOut:
    """Give a user a role in the project (admins)."""
    project = access.project(db, user, key, "admin")
    member = projects.set_member(db, user, project, username, body.role)
    db.commit()
    return MemberOut(user=username, role=member.role)
