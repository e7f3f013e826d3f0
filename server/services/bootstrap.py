"""First start: migrate, create the admin and a token, load the demo project; login links on every start."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.models import ApiToken, Project, User
from server.services import auth, datasets, projects, storage
from server.settings import Settings

DEMO_KEY = "DEMO"
LINK_TOKEN_NAME = "login-link"  # the token of a link from `fitstudio login-link` or a start after the first


def migrate(settings: Settings) -> None:
    """Bring the database to the newest Alembic revision."""
    from alembic import command

    from migrations.config import alembic_config

    settings.ensure_dirs()
    command.upgrade(alembic_config(settings.sql_url), "head")


def ensure_admin(db: Session, username: str = "admin") -> tuple[User, str | None]:
    """The admin user; on first start (no users at all) it is created and a token returned."""
    if db.scalar(select(func.count(User.id))):
        return first_admin(db) or db.scalar(select(User).order_by(User.id)), None  # type: ignore[return-value]
    user = auth.create_user(db, username, is_admin=True)
    token = auth.create_token(db, user, "login")
    return user, token


def first_admin(db: Session) -> User | None:
    """The oldest site admin, or None when there is none."""
    return db.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id))


def login_link(db: Session, user: User, base_url: str) -> str:
    """A fresh one-time login link for USER at BASE_URL; USER's earlier login-link tokens are deleted, so only the
    newest link works and they never pile up (docs/decisions.md)."""
    db.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.name == LINK_TOKEN_NAME))
    token = auth.create_token(db, user, LINK_TOKEN_NAME)
    return link_for(base_url, token)


def link_for(base_url: str, token: str) -> str:
    """The /login?token= address of TOKEN at BASE_URL."""
    return f"{base_url.rstrip('/')}/login?token={token}"


def _demo_frames() -> dict[str, bytes]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

    out: dict[str, bytes] = {}
    bc = load_breast_cancer(as_frame=True)
    frame = bc.frame.copy()
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    frame = frame.rename(columns={"target": "diagnosis"})
    out["breast_cancer"] = frame.to_csv(index=False).encode()
    iris = load_iris(as_frame=True)
    frame = iris.frame.copy()
    frame["target"] = frame["target"].map(dict(enumerate(iris.target_names)))
    out["iris"] = frame.rename(columns={"target": "species"}).to_csv(index=False).encode()
    out["diabetes"] = (
        load_diabetes(as_frame=True, scaled=False)
        .frame.rename(columns={"target": "progression"})
        .to_csv(index=False)
        .encode()
    )
    return out


def ensure_demo(db: Session, settings: Settings, owner: User) -> Project | None:
    """Create the DEMO project with breast cancer (binary), iris (multiclass) and diabetes (regression)."""
    if db.scalar(select(Project).where(Project.key == DEMO_KEY)):
        return None
    project = projects.create(db, owner, DEMO_KEY, "Demo: scikit-learn datasets")
    for name, payload in _demo_frames().items():
        tmp: Path = storage.upload_tmp(settings)
        tmp.write_bytes(payload)
        datasets.create_from_file(db, settings, project, owner, name, f"{name}.csv", tmp)
    db.flush()
    return project


def demo_bytes(name: str) -> io.BytesIO:
    """The demo CSV NAME as bytes (tests and docs use it)."""
    return io.BytesIO(_demo_frames()[name])
