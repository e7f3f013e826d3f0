"""Routes: the caller's API tokens — list them, revoke one (a revoked token is refused with 401 at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.deps import current_user
from server.db import get_db
from server.errors import not_found
from server.models import ApiToken, User
from server.services import audit, auth
from server.services.ids import is_sql_int

router = APIRouter(tags=["tokens"])


def token_dict(row: ApiToken) -> dict[str, Any]:
    """The API shape of a token: never the token itself (only its hash is stored), its first characters."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "revoked": row.revoked_at is not None,
        "revoked_at": row.revoked_at,
    }


@router.get("/tokens")
def list_tokens(db: Session = Depends(get_db), user: User = Depends(current_user)) -> list[dict[str, Any]]:
    """The caller's tokens, oldest first (revoked ones included, marked revoked)."""
    rows = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return [token_dict(r) for r in rows]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, db: Session = Depends(get_db), user: User = Depends(current_user)) -> Response:
    """Revoke one of the caller's tokens (404 for a token of another user, as for one that does not exist)."""
    if not is_sql_int(token_id):
        raise not_found("token", token_id)
    row = db.get(ApiToken, token_id)
    if row is not None and row.user_id == user.id and row.revoked_at is not None:
        return Response(status_code=204)  # already revoked: keep the first revocation time
    auth.revoke_token(db, user, token_id)
    audit.record(db, user, "token.revoke", str(token_id))
    db.commit()
    return Response(status_code=204)
