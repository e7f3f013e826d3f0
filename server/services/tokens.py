"""The caller's API tokens as the API lists and revokes them (creating and checking them is server.services.auth)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import not_found
from server.models import ApiToken, User
from server.services import audit, auth
from server.services.ids import is_sql_int


def of_user(db: Session, user: User) -> list[ApiToken]:
    """USER's tokens, oldest first (revoked ones included)."""
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def as_dict(row: ApiToken) -> dict[str, Any]:
    """The API shape of a token: never the token itself (only its hash is stored), its first characters."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "revoked": row.revoked_at is not None,
        "revoked_at": row.revoked_at,
    }


def revoke(db: Session, user: User, token_id: Any) -> None:
    """Revoke one of USER's tokens and audit it; 404 for another user's token, as for one that does not exist."""
    if not is_sql_int(token_id):
        raise not_found("token", token_id)
    row = db.get(ApiToken, token_id)
    if row is not None and row.user_id == user.id and row.revoked_at is not None:
        return  # already revoked: keep the first revocation time
    auth.revoke_token(db, user, token_id)
    audit.record(db, user, "token.revoke", str(token_id))
