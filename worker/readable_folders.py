"""What a training may read besides its dataset: the managed folders its submitter can read, and the weights store.

Resolved in the worker (the child has no database) with the submitter's permissions, as the model resolver does;
each folder's directory and the weights store are bound read-only into the sandbox (`job["sandbox_read_only"]`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from server.services import auth, folders
from server.settings import Settings
from worker import state


def visible_folders(settings: Settings, design: dict[str, Any]) -> list[dict[str, Any]]:
    """[{id, name, project_key, path}] of every folder the submitter of DESIGN may read (none if they are gone)."""

    def _do(db: Session) -> list[dict[str, Any]]:
        user = auth.get_user(db, design.get("submitted_by") or "")
        if user is None:
            return []
        return folders.visible_to(db, settings, user)

    return state.with_retry(_do, "resolve folders")


def add_to_job(settings: Settings, design: dict[str, Any], job: dict[str, Any]) -> None:
    """Put the readable folders and the weights store into JOB, and bind both read-only into its sandbox."""
    found = visible_folders(settings, design)
    for folder in found:
        Path(folder["path"]).mkdir(parents=True, exist_ok=True)  # bwrap binds only what exists
    store = settings.weights_store
    store.mkdir(parents=True, exist_ok=True)
    job["folders"] = found
    job["weights_dir"] = str(store)
    job["sandbox_read_only"] = [*(job.get("sandbox_read_only") or []), str(store), *(f["path"] for f in found)]
