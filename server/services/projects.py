"""Projects and their members."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.status import SessionStatus
from server.errors import conflict, invalid, not_found
from server.models import Analysis, MLTask, Project, ProjectMember, TrainingSession, User
from server.services import audit, storage
from server.services.auth import ROLES, get_user
from server.services.ids import is_project_key
from server.settings import Settings


def create(db: Session, user: User, key: str, name: str) -> Project:
    """Create project KEY owned by USER, who becomes its admin."""
    if not is_project_key(key):
        if is_project_key(key.upper()):  # keys are upper-case; the client keeps using the key it sent, so no silent fix
            raise invalid(
                f"Project key {key!r} must be upper-case: use {key.upper()!r}.",
                errors=[{"field": "key", "message": "must be upper-case"}],
                code="bad_key",
            )
        raise invalid(
            f"Project key {key!r} must be 2-32 characters: an upper-case letter, then A-Z, 0-9 or _.",
            errors=[{"field": "key", "message": "must match [A-Z][A-Z0-9_]{1,31}"}],
            code="bad_key",
        )
    name = (name or "").strip() or key
    if len(name) > 200:
        raise invalid("Project name must be at most 200 characters.", code="bad_name")
    if db.scalar(select(Project.id).where(Project.key == key)):
        raise conflict("project_exists", f"A project with key {key!r} already exists; choose another key.")
    project = Project(key=key, name=name, owner_id=user.id)
    project.members.append(ProjectMember(user_id=user.id, role="admin"))
    db.add(project)
    db.flush()
    audit.record(db, user, "project.create", key)
    return project


def visible(db: Session, user: User) -> list[Project]:
    """The projects USER can see (with their owners, loaded in one query)."""
    query = select(Project).order_by(Project.key).options(selectinload(Project.owner))
    if not user.is_admin:
        query = query.join(ProjectMember).where(ProjectMember.user_id == user.id)
    return list(db.scalars(query).unique())


def get(db: Session, project_id: int) -> Project | None:
    """The project with id PROJECT_ID (callers have checked access to what belongs to it)."""
    return db.get(Project, project_id)


def set_member(db: Session, actor: User, project: Project, username: str, role: str) -> ProjectMember:
    """Give USERNAME ROLE in PROJECT (or change it)."""
    if role not in ROLES:
        raise invalid(f"Role {role!r} is not one of reader, writer, admin.", code="bad_role")
    target = get_user(db, username)
    if target is None:
        raise not_found("user", username)
    member = db.get(ProjectMember, (project.id, target.id))
    if member is None:
        member = ProjectMember(project_id=project.id, user_id=target.id, role=role)
        db.add(member)
    else:
        if member.role == "admin" and role != "admin":
            admins = [m for m in project.members if m.role == "admin"]
            if len(admins) <= 1:
                raise conflict("last_admin", f"{username} is the last admin of {project.key}; add another admin first.")
        member.role = role
    db.flush()
    audit.record(db, actor, "project.member", project.key, member=username, role=role)
    return member


def delete(db: Session, settings: Settings, actor: User, project: Project) -> None:
    """Delete PROJECT with its data and artifacts; 409 while one of its sessions is queued or running."""
    busy = db.scalar(
        select(TrainingSession.id)
        .join(MLTask, TrainingSession.ml_task_id == MLTask.id)
        .join(Analysis, MLTask.analysis_id == Analysis.id)
        .where(
            Analysis.project_id == project.id, TrainingSession.status.in_((SessionStatus.QUEUED, SessionStatus.RUNNING))
        )
        .limit(1)
    )
    if busy:
        raise conflict("session_running", f"Session {busy} of {project.key} is queued or running; abort it first.")
    key = project.key
    # The sessions' own folders (log, checkpoint, TensorBoard logs) go with them.
    session_ids = db.scalars(
        select(TrainingSession.id)
        .join(MLTask, TrainingSession.ml_task_id == MLTask.id)
        .join(Analysis, MLTask.analysis_id == Analysis.id)
        .where(Analysis.project_id == project.id)
    ).all()
    db.delete(project)
    db.flush()
    audit.record(db, actor, "project.delete", key)
    for sid in session_ids:
        folder = storage.session_dir(settings, sid)
        if folder.exists():
            storage.remove_tree(folder, settings.artifacts)
    for root, sub in ((settings.data_root, "projects"), (settings.artifacts, "projects")):
        folder = root / sub / key
        if folder.exists():
            storage.remove_tree(folder, root)


def members(project: Project) -> list[dict[str, str]]:
    """[{user, role}] of PROJECT."""
    return [{"user": m.user.username, "role": m.role} for m in project.members]


def members_by_name(project: Project) -> list[ProjectMember]:
    """PROJECT's members, by user name."""
    return sorted(project.members, key=lambda m: m.user.username)
