"""Comparing sessions (GET /ml-tasks/{id}/compare) and a session's tags and note (PATCH /sessions/{id})."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from server.services.session_tags import MAX_NOTE_LENGTH, MAX_TAG_LENGTH, MAX_TAGS

# A tag: one line of printable text without commas (the page edits tags as a comma-separated list).
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG_LENGTH, pattern=r"^[^\x00-\x1f\x7f,]+$"),
]


class SessionAnnotate(BaseModel):
    """PATCH /sessions/{id}: either field or both; a missing field is left as it is."""

    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    note: str | None = Field(None, max_length=MAX_NOTE_LENGTH)


class ComparedSession(BaseModel):
    """One compared session: its final metrics, per-epoch history and frozen design."""

    id: int
    number: int
    status: str
    metric: str | None
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    design: dict[str, Any]
    trained_model_id: str | None
    tags: list[str]
    note: str


class CodeDiff(BaseModel):
    """One session's code cell against the first compared session's, as unified diff lines."""

    number: int
    lines: list[str]


class DiffEntry(BaseModel):
    """One difference between the designs: a setting by JSON path, or a code cell (`code.<cell>`) with its diffs."""

    path: str
    kind: Literal["setting", "code"]
    values: list[Any]  # one per session, in the order asked for (null where a design lacks the setting)
    diffs: list[CodeDiff] | None = None  # code only: each later session against the first


class CompareOut(BaseModel):
    """GET /ml-tasks/{id}/compare."""

    ml_task_id: str
    prediction_type: str
    sessions: list[ComparedSession]
    best: dict[str, list[int]]  # metric key -> numbers of the sessions with the best value, in its direction
    design_diff: list[DiffEntry]
