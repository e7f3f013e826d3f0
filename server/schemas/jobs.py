"""Request and response bodies of jobs (api.md "Batch jobs")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ScoreRequest(BaseModel):
    """POST /saved-models/{id}/score."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: int
    version: str | None = Field(
        None, max_length=64, description="the version to score with (the active one if left out)"
    )
    use_gpu: bool = Field(
        False,
        strict=True,
        description="run the model on a GPU: the job goes to the gpu queue, and a worker with GPUs runs the model in "
        "a sandboxed child on one of them",
    )


class JobProgress(BaseModel):
    """Rows done of the total; `failed`: rows that could not be scored (kept in the result with no prediction)."""

    rows: int
    total: int
    failed: int


class JobResult(BaseModel):
    """What the job made: the new dataset of a scoring, the evaluation of an evaluation (None until it succeeds)."""

    dataset_id: int | None
    evaluation_id: int | None = None


class JobOut(BaseModel):
    """A job run by a worker: a batch scoring (kind "score") or an evaluation (kind "evaluate")."""

    id: int
    kind: str
    status: str
    saved_model_id: int | None
    version_id: str
    dataset_id: int | None
    progress: JobProgress
    failures: list[dict[str, Any]] = Field(description="the first unscorable rows: {row, message}")
    imputed: dict[str, int] = Field(
        description="per input column: values of the rows scored that were missing or did not parse, imputed"
    )
    unseen: dict[str, int] = Field(
        description="per categorical input column: values that are none of the categories the model encodes"
    )
    result: JobResult
    error: dict[str, Any] | None
    worker: str | None
    queue: str = Field(description="the Celery queue it was sent to: gpu when it asked for a GPU, else cpu")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
