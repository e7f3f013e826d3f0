"""Response bodies of API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class TokenOut(BaseModel):
    """An API token: never the token itself (only its hash is stored), its first characters."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked: bool
    revoked_at: datetime | None


class AuditEventOut(BaseModel):
    """One audit event (a submission's detail holds the code it froze)."""

    id: int
    at: datetime
    user: str | None
    action: str
    target: str
    detail: dict[str, Any]
