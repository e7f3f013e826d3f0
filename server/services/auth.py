"""Users, passwords (argon2), API tokens (stored hashed) and project roles."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from server.errors import ApiError, not_found
from server.models import ApiToken, Project, ProjectMember, User, utcnow

ROLES = ("reader", "writer", "admin")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2 hash of PASSWORD."""
    return _hasher.hash(password)


_DUMMY_HASH: str | None = None


def verify_password(user: User | None, password: str) -> bool:
    """True when PASSWORD is USER's password; as slow for an unknown user, so timing reveals no names."""
    global _DUMMY_HASH
    if user is None or not user.password_hash:
        _DUMMY_HASH = _DUMMY_HASH or _hasher.hash("fitstudio-dummy-password")
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_user(db: Session, username: str) -> User | None:
    """The user called USERNAME, or None."""
    return db.scalar(select(User).where(User.username == username))


def create_user(db: Session, username: str, password: str | None = None, is_admin: bool = False) -> User:
    """Create a user; 409 when the name is taken."""
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ApiError(
            422, "invalid_username", f"User name {username!r} must be 1-64 letters, digits, '.', '_' or '-'."
        )
    if get_user(db, username):
        raise ApiError(409, "user_exists", f"User {username!r} already exists.")
    user = User(username=username, password_hash=hash_password(password) if password else None, is_admin=is_admin)
    db.add(user)
    db.flush()
    return user


def create_token(db: Session, user: User, name: str = "default") -> str:
    """Create an API token for USER and return it (only its hash is stored)."""
    token = "fst_" + secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, name=name[:128], token_hash=_digest(token), prefix=token[:10]))
    db.flush()
    return token


def user_for_token(db: Session, token: str) -> User | None:
    """The user owning a live TOKEN, or None."""
    return db.scalar(_USER_OF_TOKEN, {"token_hash": _digest(token)})


# Built once: every API request runs it, and building a statement costs more than running it on SQLite.
_USER_OF_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def user_for_login_link(db: Session, token: str, ttl_s: float) -> User | None:
    """The user of a /login?token= link, consuming it: each token logs in once, within TTL_S of its creation."""
    from datetime import timedelta

    now = utcnow()
    used = db.execute(
        update(ApiToken)
        .where(
            ApiToken.token_hash == _digest(token),
            ApiToken.revoked_at.is_(None),
            ApiToken.login_used_at.is_(None),
            ApiToken.created_at >= now - timedelta(seconds=ttl_s),
        )
        .values(login_used_at=now)
    ).rowcount
    user = user_for_token(db, token) if used == 1 else None
    db.commit()
    return user


def end_web_sessions(db: Session, user_id: int) -> None:
    """Revoke every web session cookie USER_ID holds (each carries the generation this bumps)."""
    db.execute(update(User).where(User.id == user_id).values(session_gen=User.session_gen + 1))
    db.commit()


def revoke_token(db: Session, user: User, token_id: int) -> None:
    """Revoke one of USER's tokens."""
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise not_found("token", token_id)
    row.revoked_at = utcnow()


def role_in(db: Session, user: User, project: Project) -> str | None:
    """USER's role in PROJECT; site admins are admins everywhere."""
    if user.is_admin:
        return "admin"
    member = db.get(ProjectMember, (project.id, user.id))
    return member.role if member else None
