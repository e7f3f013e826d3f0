"""Routes: analyses (their ML tasks are server/api/mltasks.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from server.api.deps import CurrentUser, DbDep, SettingsDep
from server.api.pagination import PageDep, paginate
from server.schemas.analyses import AnalysisOut
from server.schemas.requests import AnalysisCreate
from server.services import access, analyses

router = APIRouter(tags=["analyses"])


@router.post("/projects/{key}/analyses", status_code=201, response_model=AnalysisOut)
def create_analysis(key: str, body: AnalysisCreate, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Create an analysis on a dataset of the project."""
    project = access.project(db, user, key, "writer")
    row = analyses.create(db, user, project, body.dataset_id, body.name)
    db.commit()
    return analyses.as_dict(row)


@router.get("/projects/{key}/analyses", response_model=list[AnalysisOut])
def list_analyses(
    key: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[dict[str, Any]]:
    """The project's analyses, oldest first (`limit`/`cursor` pages)."""
    project = access.project(db, user, key)
    rows = paginate(request, response, analyses.of_project(db, project), page, lambda a: (a.created_at, a.id))
    return [analyses.as_dict(a) for a in rows]


@router.get("/analyses/{analysis_id}", response_model=AnalysisOut)
def get_analysis(analysis_id: str, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """One analysis."""
    return analyses.as_dict(access.analysis(db, user, analysis_id))


@router.delete("/analyses/{analysis_id}", status_code=204)
def delete_analysis(analysis_id: str, db: DbDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """Delete an analysis with its ML tasks, sessions and trained models (admins; 409 while in use)."""
    analysis = access.analysis(db, user, analysis_id, "admin")
    analyses.delete(db, settings, user, analysis)
    db.commit()
    return Response(status_code=204)
