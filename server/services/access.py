"""Load a resource by id and check the caller's role on its project in one step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from server.errors import ApiError, not_found
from server.models import (
    Analysis,
    Dataset,
    MLTask,
    Project,
    ProjectMember,
    SavedModel,
    TrainedModel,
    TrainingSession,
    User,
)
from server.services.auth import role_in
from server.services.ids import is_sql_int

_RANK = {"reader": 0, "writer": 1, "admin": 2}
# The design form's actions: saving, dry-running (it uses a worker) and training change something; the others read.
_DESIGN_ACTION_ROLE = {
    "save": "writer",
    "validate": "reader",
    "dry_run": "writer",
    "inputs": "reader",
    "train": "writer",
}


def allows(role: str | None, needed: str) -> bool:
    """True when ROLE (None: no role at all) is at least NEEDED."""
    return role is not None and _RANK[role] >= _RANK[needed]


@dataclass(frozen=True)
class Rights:
    """What a user may do in one project: pages show only the actions it allows (the routes still check)."""

    role: str | None

    @property
    def can_write(self) -> bool:
        """Writers and admins change the project's resources."""
        return allows(self.role, "writer")

    @property
    def is_admin(self) -> bool:
        """Admins manage the project's members."""
        return allows(self.role, "admin")


def rights(db: Session, user: User, project: Project) -> Rights:
    """USER's rights in PROJECT (site admins are admins everywhere)."""
    return Rights(role_in(db, user, project))


def design_action_role(action: str) -> str:
    """The role the design form's ACTION needs (reader for an unknown one: it changes nothing)."""
    return _DESIGN_ACTION_ROLE.get(action, "reader")


def require_site_admin(user: User, what: str) -> None:
    """403 unless USER is a site admin; WHAT says what only they do ("manage the weights store")."""
    if not user.is_admin:
        raise ApiError(403, "forbidden", f"Only site admins {what}.")


def check(db: Session, user: User, project: Project, needed: str, missing: ApiError) -> str:
    """USER's role in PROJECT if at least NEEDED; MISSING (a 404) when they cannot see it, else 403."""
    return require(role_in(db, user, project), needed, project.key, missing)


def require(role: str | None, needed: str, project_key: str, missing: ApiError) -> str:
    """ROLE if at least NEEDED; MISSING (a 404) when there is none (the project stays invisible), else 403."""
    if role is None:
        raise missing
    if _RANK[role] < _RANK[needed]:
        raise ApiError(
            403,
            "forbidden",
            f"This needs the {needed!r} role in project {project_key}; you have {role!r}. Ask a project admin.",
        )
    return role


_Row = TypeVar("_Row", Dataset, TrainedModel, SavedModel)


def _in_project(
    db: Session, user: User, model: type[_Row], what: str, ident: int | str, needed: str, numeric: bool = False
) -> _Row:
    """The MODEL row IDENT (a row with a project_id) if USER holds NEEDED in its project; 404 WHAT otherwise.
    NUMERIC: the id is an SQL integer, so anything else is not found without a query."""
    missing = not_found(what, ident)
    row = db.get(model, ident) if not numeric or is_sql_int(ident) else None  # type: ignore[arg-type]
    if row is None:
        raise missing
    check(db, user, db.get(Project, row.project_id), needed, missing)  # type: ignore[arg-type]
    return row


def project(db: Session, user: User, key: str, needed: str = "reader") -> Project:
    """The project KEY if USER holds NEEDED in it."""
    missing = not_found("project", key)
    row = db.scalar(select(Project).where(Project.key == key))
    if row is None:
        raise missing
    check(db, user, row, needed, missing)
    return row


def dataset(db: Session, user: User, dataset_id: int, needed: str = "reader") -> Dataset:
    """The dataset DATASET_ID if USER holds NEEDED in its project."""
    return _in_project(db, user, Dataset, "dataset", dataset_id, needed, numeric=True)


def analysis(db: Session, user: User, analysis_id: str, needed: str = "reader") -> Analysis:
    """The analysis ANALYSIS_ID if USER holds NEEDED in its project."""
    missing = not_found("analysis", analysis_id)
    row = db.get(Analysis, analysis_id)
    if row is None:
        raise missing
    check(db, user, row.project, needed, missing)
    return row


def ml_task(db: Session, user: User, mltask_id: str, needed: str = "reader") -> MLTask:
    """The ML task MLTASK_ID if USER holds NEEDED in its project."""
    missing = not_found("ML task", mltask_id)
    row = db.get(MLTask, mltask_id)
    if row is None:
        raise missing
    check(db, user, row.analysis.project, needed, missing)
    return row


def session(db: Session, user: User, session_id: int, needed: str = "reader") -> TrainingSession:
    """The training session SESSION_ID if USER holds NEEDED in its project."""
    missing = not_found("session", session_id)
    if not is_sql_int(session_id):
        raise missing
    found = db.execute(_SESSION_WITH_ROLE, {"session_id": session_id, "user_id": user.id}).first()
    if found is None:
        raise missing
    row, key, member_role = found
    require("admin" if user.is_admin else member_role, needed, key, missing)
    return row


# The most polled read, built once: the session, its project's key and the caller's membership in one query
# instead of the eager chain session → task → analysis → project → members (ml_task loads lazily when touched).
_SESSION_WITH_ROLE = (
    select(TrainingSession, Project.key, ProjectMember.role)
    .join(MLTask, MLTask.id == TrainingSession.ml_task_id)
    .join(Analysis, Analysis.id == MLTask.analysis_id)
    .join(Project, Project.id == Analysis.project_id)
    .outerjoin(
        ProjectMember, (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == bindparam("user_id"))
    )
    .where(TrainingSession.id == bindparam("session_id"))
    .options(lazyload(TrainingSession.ml_task))
)


def trained_model(db: Session, user: User, tmid: str, needed: str = "reader") -> TrainedModel:
    """The trained model TMID if USER holds NEEDED in its project."""
    return _in_project(db, user, TrainedModel, "trained model", tmid, needed)


def saved_model(db: Session, user: User, saved_model_id: int, needed: str = "reader") -> SavedModel:
    """The saved model SAVED_MODEL_ID if USER holds NEEDED in its project."""
    return _in_project(db, user, SavedModel, "saved model", saved_model_id, needed, numeric=True)
