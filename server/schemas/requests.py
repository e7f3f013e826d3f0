"""Request bodies of the REST API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectCreate(_Body):
    """POST /projects."""

    key: str = Field(max_length=64)
    name: str = Field("", max_length=200)


class MemberPut(_Body):
    """PUT /projects/{key}/members/{user}."""

    role: Literal["reader", "writer", "admin"]


class AnalysisCreate(_Body):
    """POST /projects/{key}/analyses."""

    dataset_id: int
    name: str = Field("", max_length=200)


class MLTaskCreate(_Body):
    """POST /analyses/{id}/ml-tasks."""

    target: str = Field(max_length=500)
    prediction_type: str | None = None
    name: str | None = Field(None, max_length=200)


class TrainRequest(BaseModel):
    """POST /ml-tasks/{id}/train (no fields yet; unknown ones are ignored)."""

    model_config = ConfigDict(extra="ignore")
