"""Request and response bodies of evaluations (api.md "Batch jobs")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from server.schemas.jobs import ScoreRequest


class EvaluateRequest(ScoreRequest):
    """POST /saved-models/{id}/evaluate: the labelled dataset (it holds the target) and the version (active if
    left out)."""


class EvaluationSummary(BaseModel):
    """An evaluation in a list: a saved model version measured on a labelled dataset."""

    id: int
    saved_model_id: int
    version_id: str
    dataset_id: int | None = Field(description="None once the dataset is deleted (dataset_name stays)")
    dataset_name: str
    job_id: int | None
    prediction_type: str
    target: str
    n_rows: int = Field(description="rows measured")
    rows_failed: int = Field(description="rows left out: no known target value, or not scorable")
    metrics: dict[str, float | None] = Field(description="the task's catalogue metrics; None where undefined")
    created_at: datetime


class EvaluationOut(EvaluationSummary):
    """One evaluation with its charts' data: confusion matrix and ROC (classification) or predicted-vs-actual pairs
    (regression), and the charts of core/evaluation_charts.py."""

    charts: dict[str, Any]
