"""Validate's answer: the static checks of an ML task's settings, then (on request) a dry run, and reading one back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.errors import ApiError, not_found
from server.models import DryRun, MLTask, User
from server.services import access, architecture_inputs, coercion_check, dry_run, mltasks
from server.services.ids import is_sql_int
from server.settings import Settings


def static_checks(
    db: Session, user: User, mltask_id: str, body: Any, with_dry_run: bool
) -> tuple[MLTask, dict[str, Any] | None, list[dict[str, Any]]]:
    """(task, normalised settings or None, errors) of BODY (None: the stored settings); a dry run needs a writer."""
    task = access.ml_task(db, user, mltask_id, "writer" if with_dry_run else "reader")
    doc, errors = mltasks.validate_settings(task, body if body is not None else {})
    return task, doc, errors


async def validate(
    db: Session, settings: Settings, user: User, mltask_id: str, body: Any, with_dry_run: bool
) -> dict[str, Any]:
    """{ok, errors, warnings} of the static checks; WITH_DRY_RUN (and no static error) adds the dry run's
    {errors, dry_run}, or, when it did not end in time, {ok: None, dry_run_id, status, poll_url} (see is_pending)."""
    task, doc, errors = await run_in_threadpool(static_checks, db, user, mltask_id, body, with_dry_run)
    answer: dict[str, Any] = {"ok": not errors, "errors": errors}
    if doc is not None:  # warnings do not stop a training: values that will not parse, counted
        answer["warnings"] = await run_in_threadpool(coercion_check.warnings, settings, task, doc)
    architecture_inputs.add_to(answer, doc)  # inputs the architecture names that do not exist, or ignores
    if not (with_dry_run and doc is not None):
        return answer
    answer.update(await dry_run.run_async(db, settings, user, task, doc))
    answer["ok"] = None if is_pending(answer) else not answer["errors"]
    return answer


def is_pending(answer: dict[str, Any]) -> bool:
    """Whether validate's ANSWER is a dry run still to poll."""
    return "poll_url" in answer


def readable_dry_run(db: Session, user: User, dry_run_id: Any) -> DryRun:
    """The dry run DRY_RUN_ID if USER may read its ML task; another project's dry run looks like none at all (404)."""
    row = db.get(DryRun, dry_run_id) if is_sql_int(dry_run_id) else None
    try:
        if row is None:
            raise not_found("dry run", dry_run_id)
        access.ml_task(db, user, row.ml_task_id)
    except ApiError as exc:
        raise not_found("dry run", dry_run_id) from exc
    return row
