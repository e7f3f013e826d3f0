"""Dry runs in the worker: build the model and train one small batch in a child, store summary or error."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from sqlalchemy import update

from core.contracts import ErrorInfo
from server.models import DryRun, utcnow
from server.settings import get_settings
from worker import child_files, child_requests, state
from worker.runner import build_job, error_from_child, run_in_child
from worker.supervisor import Sink
from worker.workspace import Workspace

log = logging.getLogger(__name__)
DRY_RUN_TIME_LIMIT_S = 300


def run_dry_run(dry_run_id: int) -> str:
    """Run dry run DRY_RUN_ID if it is still queued."""
    settings = get_settings()

    def _claim(db: Any) -> dict[str, Any] | None:
        done = db.execute(
            update(DryRun).where(DryRun.id == dry_run_id, DryRun.status == "queued").values(status="running")
        ).rowcount
        return db.get(DryRun, dry_run_id).design if done else None

    design = state.with_retry(_claim, "claim dry run")
    if design is None:
        return "skipped"
    workspace = Workspace(settings.scratch_root / f"dry{dry_run_id}")
    scratch = workspace.scratch
    result: dict[str, Any]
    try:
        workspace.create()
        job = build_job(settings, design, scratch, [], dry_run=True)
        job["limits"]["time_limit_s"] = min(job["limits"]["time_limit_s"], DRY_RUN_TIME_LIMIT_S)
        outcome = run_in_child(
            settings,
            scratch,
            job,
            [],
            Sink(),
            workspace.log,
            lambda req: child_requests.answer(settings, design, req, workspace.granted),
            lambda: False,
        )
        done = child_files.read_json(workspace.out / "result.json")
        if outcome.returncode == 0 and outcome.killed_for is None and isinstance(done, dict):
            result = {"ok": True, **done}
        else:
            error = error_from_child(workspace.out, outcome)
            output = workspace.log.read_text(errors="replace")[-4000:] if workspace.log.exists() else ""
            result = {"ok": False, "error": error, "log": output}
    except Exception as exc:
        log.exception("dry run %s failed in the worker", dry_run_id)
        error = ErrorInfo(type(exc).__name__, str(exc), traceback=traceback.format_exc()[-3000:])
        result = {"ok": False, "error": error.as_dict()}
    finally:
        workspace.remove()

    def _store(db: Any) -> None:
        row = db.get(DryRun, dry_run_id)
        row.status, row.result, row.ended_at = "done", result, utcnow()

    state.with_retry(_store, "store dry run")
    return "done"
