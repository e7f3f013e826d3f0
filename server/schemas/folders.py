"""Request and response bodies of managed folders and the weights store (data.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class FolderCreate(BaseModel):
    """POST /projects/{key}/folders."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)


class FolderOut(BaseModel):
    """A folder in lists and after creation."""

    id: int
    name: str
    project_key: str
    created_at: datetime


class FileOut(BaseModel):
    """One file of a folder (or of the weights store: then `path` is its file name)."""

    path: str
    size: int
    modified_at: datetime


class FolderDetail(FolderOut):
    """GET /folders/{id}: the folder and its files."""

    files: list[FileOut]


class WeightsFileOut(BaseModel):
    """One file of the site-wide weights store."""

    name: str
    size: int
    modified_at: datetime
