"""Request bodies of the REST API."""

from __future__ import annotations

from typing import Any, Literal

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


class DeployRequest(_Body):
    """POST /trained-models/{tmid}/deploy."""

    saved_model_id: int | None = None
    saved_model_name: str | None = Field(None, max_length=200)
    version_id: str | None = Field(None, max_length=64)
    activate: bool = True


class ActiveVersion(_Body):
    """POST /saved-models/{id}/active-version."""

    version_id: str = Field(max_length=64)


class PredictRequest(_Body):
    """POST …/predict."""

    rows: list[dict[str, Any]]
