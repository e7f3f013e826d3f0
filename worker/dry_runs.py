"""Dry runs in the worker: build the model and train one small batch in a child, store summary or error."""

from __future__ import annotations

import json
import logging
import shutil
import traceback
from typing import Any

from sqlalchemy import update

from server.models import DryRun, utcnow
from server.settings import get_settings
from worker import requests, state
from worker.runner import build_job, error_from_child, run_in_child
from worker.supervisor import Sink

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
    scratch = settings.scratch_root / f"dry{dry_run_id}"
    result: dict[str, Any]
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        job = build_job(settings, design, scratch, [], dry_run=True)
        job["limits"]["time_limit_s"] = min(job["limits"]["time_limit_s"], DRY_RUN_TIME_LIMIT_S)
        outcome = run_in_child(
            settings,
            scratch,
            job,
            [],
            Sink(),
            scratch / "output.log",
            lambda req: requests.answer(settings, design, req),
            lambda: False,
        )
        out = scratch / "out" / "result.json"
        if outcome.returncode == 0 and outcome.killed_for is None and out.exists():
            result = {"ok": True, **json.loads(out.read_text())}
        else:
            error = error_from_child(scratch / "out", outcome)
            output = (
                (scratch / "output.log").read_text(errors="replace")[-4000:]
                if (scratch / "output.log").exists()
                else ""
            )
            result = {"ok": False, "error": error, "log": output}
    except Exception as exc:
        log.exception("dry run %s failed in the worker", dry_run_id)
        result = {
            "ok": False,
            "error": {
                "type": type(exc).__name__,
                "message": str(exc),
                "cell": None,
                "line": None,
                "traceback": traceback.format_exc()[-3000:],
            },
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def _store(db: Any) -> None:
        row = db.get(DryRun, dry_run_id)
        row.status, row.result, row.ended_at = "done", result, utcnow()

    state.with_retry(_store, "store dry run")
    return "done"
