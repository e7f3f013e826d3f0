"""Routes: evaluations (api.md "Batch jobs"): start one as a job, list a saved model's, read one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.schemas.evaluations import EvaluateRequest, EvaluationOut, EvaluationSummary
from server.schemas.jobs import JobOut
from server.services import access, evaluations, jobs

router = APIRouter(tags=["jobs"])


@router.post("/saved-models/{saved_model_id}/evaluate", status_code=202, response_model=JobOut)
def evaluate_dataset(
    saved_model_id: int, body: EvaluateRequest, db: DbDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, Any]:
    """Evaluate the active version (or `version`) on a labelled dataset as a worker job (writers); 422 names the
    target and the input columns the dataset lacks."""
    saved = access.saved_model(db, user, saved_model_id, "writer")
    return jobs.as_dict(jobs.submit(db, settings, user, saved, body.dataset_id, body.version, "evaluate", body.use_gpu))


@router.get("/saved-models/{saved_model_id}/evaluations", response_model=list[EvaluationSummary])
def list_evaluations(saved_model_id: int, db: DbDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The saved model's evaluations, newest first (their metrics; the charts by GET /evaluations/{id})."""
    saved = access.saved_model(db, user, saved_model_id)
    return [evaluations.as_dict(e, charts=False) for e in evaluations.of_saved_model(db, saved)]


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationOut)
def get_evaluation(evaluation_id: int, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """One evaluation: its metrics and charts' data."""
    return evaluations.as_dict(evaluations.get(db, user, evaluation_id))
