"""Response bodies of projects and their members."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class MemberOut(BaseModel):
    """A user's role in a project."""

    user: str
    role: str


class ProjectOut(BaseModel):
    """A project with its members."""

    key: str
    name: str
    owner: str
    created_at: datetime
    members: list[MemberOut]
