"""Routes: jobs (api.md "Batch jobs"): read, list per project, abort; they are started by …/score."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from server.api.deps import CurrentUser, DbDep
from server.api.pagination import PageDep, paginate
from server.schemas.jobs import JobOut
from server.services import access, jobs

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """A job's status, progress, result and error."""
    return jobs.as_dict(jobs.get(db, user, job_id))


@router.get("/projects/{key}/jobs", response_model=list[JobOut])
def list_jobs(
    key: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
) -> list[dict[str, Any]]:
    """The project's jobs, newest first (`limit`/`cursor` pages)."""
    project = access.project(db, user, key)
    rows = paginate(request, response, jobs.of_project(db, project), page, lambda j: (j.id,), descending=True)
    return [jobs.as_dict(j) for j in rows]


@router.post("/jobs/{job_id}/abort", status_code=202, response_model=JobOut)
def abort_job(job_id: int, db: DbDep, user: CurrentUser) -> dict[str, Any]:
    """Abort a job (writers): a queued one never starts, a running one stops before its next batch."""
    return jobs.as_dict(jobs.abort(db, user, jobs.get(db, user, job_id, "writer")))
