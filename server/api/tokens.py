"""Routes: the caller's API tokens — list them, revoke one (a revoked token is refused with 401 at once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from server.api.deps import CurrentUser, DbDep
from server.api.pagination import PageDep, paginate
from server.schemas.accounts import TokenOut
from server.services import tokens

router = APIRouter(tags=["tokens"])


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[dict[str, Any]]:
    """The caller's tokens, oldest first (revoked ones included, marked revoked; `limit`/`cursor` pages)."""
    return [tokens.as_dict(r) for r in paginate(request, response, tokens.of_user(db, user), page, lambda t: (t.id,))]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, db: DbDep, user: CurrentUser) -> Response:
    """Revoke one of the caller's tokens (404 for a token of another user, as for one that does not exist)."""
    tokens.revoke(db, user, token_id)
    db.commit()
    return Response(status_code=204)
