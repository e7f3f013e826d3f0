"""Dry runs from the API: queue the design for a worker and wait (bounded) for the summary or the error."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from server.models import DryRun, MLTask, User
from server.services.sessions import queue_of
from server.settings import Settings

WAIT_S = 180.0


def run(db: Session, settings: Settings, user: User, task: MLTask, doc: dict[str, Any]) -> dict[str, Any]:
    """{'errors': [...], 'dry_run': {...}} after a worker ran DOC on one small batch."""
    from worker.celery_app import app_for

    design = {
        "settings": doc,
        "target": task.target,
        "prediction_type": task.prediction_type,
        "analysis_id": task.analysis_id,
        "ml_task_id": task.id,
        "project_key": task.analysis.project.key,
        "dataset_id": task.analysis.dataset_id,
        "submitted_by": user.username,
    }
    row = DryRun(ml_task_id=task.id, requested_by=user.id, design=design)
    db.add(row)
    db.commit()
    app_for(settings).send_task("fitstudio.dry_run", args=[row.id], queue=queue_of(doc))
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        db.refresh(row)
        if row.status == "done":
            break
        time.sleep(0.3)
    else:
        return {
            "errors": [
                {
                    "field": "dry_run",
                    "message": f"No worker finished the dry run within {WAIT_S:g} s; "
                    "is a worker running for this queue?",
                }
            ],
            "dry_run": None,
        }
    result = row.result or {}
    if result.get("ok"):
        return {"errors": [], "dry_run": result}
    err = result.get("error") or {}
    entry = {"cell": err.get("cell"), "line": err.get("line"), "message": f"{err.get('type')}: {err.get('message')}"}
    if not entry["cell"]:
        entry = {"field": "dry_run", "message": entry["message"]}
    return {"errors": [entry], "dry_run": result}
