"""Response bodies of ML tasks, validation and dry runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class MLTaskOut(BaseModel):
    """An ML task with its settings (api.md's settings document, every key present)."""

    id: str
    analysis_id: str
    name: str
    target: str
    prediction_type: str
    settings: dict[str, Any]
    created_at: datetime


class DefaultCodeOut(BaseModel):
    """GET /ml-tasks/{id}/default-code: each code cell's generated default for the task's current inputs."""

    architecture: str
    training: str
    custom_score: str


class ErrorItem(BaseModel):
    """One problem found: in a settings field, or at a line of a code cell (keys left out when they do not apply)."""

    # Defaults of None on non-null types: the key is absent (routes exclude unset fields), never null.
    field: str = Field(None, description="the settings field, dotted (absent for a code cell's error)")
    cell: str = Field(None, description="the code cell (absent for a settings field's error)")
    line: int | None = Field(None, description="the line in the cell, when known")
    message: str


class ValidationOut(BaseModel):
    """POST /ml-tasks/{id}/validate: the static checks and, with ?dry_run=true, what the dry run found."""

    ok: bool | None
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]] = Field(
        None, description="{field, message}: e.g. values training will not parse and imputes (absent on errors)"
    )
    dry_run: dict[str, Any] | None = Field(None, description="only with ?dry_run=true: the worker's result")


class DryRunPending(BaseModel):
    """202 from validate?dry_run=true: the dry run did not end in time; poll `poll_url`."""

    ok: None
    errors: list[ErrorItem]
    dry_run: None
    dry_run_id: int
    status: str
    poll_url: str


class DryRunOut(BaseModel):
    """GET /dry-runs/{id}: its status and, once `done`, validate's {ok, errors, dry_run}."""

    id: int
    ml_task_id: str
    status: str
    ok: bool | None
    errors: list[ErrorItem]
    dry_run: dict[str, Any] | None
    created_at: datetime
    ended_at: datetime | None
