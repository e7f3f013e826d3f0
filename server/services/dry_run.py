"""Dry runs: queue the design for a worker, wait a bounded time for its summary or error, else answer 202 to poll.

A waiting request holds a slot (FITSTUDIO_DRY_RUN_MAX_PER_USER → 429, FITSTUDIO_DRY_RUN_MAX_WAITING → 503), no
pooled SQL connection and, from the API, no request thread: its polls take a short-lived connection on the live
streams' poll threads. After FITSTUDIO_DRY_RUN_WAIT_S the answer is 202 with GET /api/v1/dry-runs/{id} to poll.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from server.db import poll_session
from server.errors import ApiError
from server.models import DryRun, MLTask, User
from server.services.design import frozen_design
from server.services.session_events import poll_executor
from server.services.sessions import queue_of
from server.settings import Settings

WAIT_S: float | None = None  # tests may fix the wait; None = FITSTUDIO_DRY_RUN_WAIT_S
POLL_S = 0.3


class WaitSlots:
    """Counts waiting dry-run requests per user and in all; refuses one over the caps (429 / 503)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_user: Counter[int] = Counter()

    def acquire(self, user_id: int, settings: Settings) -> None:
        """Take a slot for USER_ID, or raise the 429/503 ApiError."""
        with self._lock:
            if self._per_user[user_id] >= settings.dry_run_max_per_user:
                raise ApiError(
                    429,
                    "too_many_dry_runs",
                    f"You already wait for {settings.dry_run_max_per_user} dry runs (FITSTUDIO_DRY_RUN_MAX_PER_USER); "
                    "wait for one to answer, then retry.",
                )
            if self.waiting() >= settings.dry_run_max_waiting:
                raise ApiError(
                    503,
                    "too_many_dry_runs",
                    f"This server already waits for {settings.dry_run_max_waiting} dry runs "
                    "(FITSTUDIO_DRY_RUN_MAX_WAITING); retry in a minute.",
                )
            self._per_user[user_id] += 1

    def release(self, user_id: int) -> None:
        """Give back a slot of USER_ID."""
        with self._lock:
            self._per_user[user_id] -= 1
            if self._per_user[user_id] <= 0:
                del self._per_user[user_id]

    def waiting(self) -> int:
        """How many dry-run requests wait now."""
        return sum(self._per_user.values())

    @contextmanager
    def held(self, user_id: int, settings: Settings) -> Iterator[None]:
        """A slot for the duration of the block."""
        self.acquire(user_id, settings)
        try:
            yield
        finally:
            self.release(user_id)


slots = WaitSlots()


def wait_s(settings: Settings) -> float:
    """How long a request waits for the worker before answering 202."""
    return WAIT_S if WAIT_S is not None else settings.dry_run_wait_s


def start(db: Session, settings: Settings, user: User, task: MLTask, doc: dict[str, Any]) -> int:
    """Store the dry run of DOC, commit (the request's connection goes back) and publish it; its id."""
    from server.broker import publish  # Celery loads on the first publish, not at API start-up

    design = frozen_design(task, user, doc).as_dict()
    row = DryRun(ml_task_id=task.id, requested_by=user.id, design=design)
    db.add(row)
    db.commit()
    try:
        publish(settings, "fitstudio.dry_run", row.id, queue_of(doc))
    except Exception as exc:  # no broker: nothing will run it, so say so now instead of a 500 or a long wait
        db.delete(row)
        db.commit()
        raise ApiError(503, "broker_unavailable", "The task broker does not answer; retry the dry run later.") from exc
    return row.id


def poll(dry_run_id: int) -> tuple[str, dict[str, Any] | None]:
    """(status, result) of a dry run, read on a short-lived connection of the poll pool."""
    db = poll_session()
    try:
        row = db.get(DryRun, dry_run_id)
        return ("gone", None) if row is None else (row.status, row.result)
    finally:
        db.close()


def answer(dry_run_id: int, status: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """The dry-run part of validate's answer: its errors and result, or (not done yet) where to poll."""
    if status == "gone":
        return {
            "errors": [{"field": "dry_run", "message": "The dry run is gone: its ML task was deleted."}],
            "dry_run": None,
        }
    if status != "done":
        url = f"/api/v1/dry-runs/{dry_run_id}"
        return {"errors": [], "dry_run": None, "dry_run_id": dry_run_id, "status": status, "poll_url": url}
    return outcome(result or {})


def outcome(result: dict[str, Any]) -> dict[str, Any]:
    """{'errors': [...], 'dry_run': RESULT} of a finished dry run."""
    if result.get("ok"):
        return {"errors": [], "dry_run": result}
    err = result.get("error") or {}
    entry = {"cell": err.get("cell"), "line": err.get("line"), "message": f"{err.get('type')}: {err.get('message')}"}
    if not entry["cell"]:
        entry = {"field": "dry_run", "message": entry["message"]}
    return {"errors": [entry], "dry_run": result}


def describe(row: DryRun) -> dict[str, Any]:
    """GET /dry-runs/{id}: its status and, once done, validate's {ok, errors, dry_run}."""
    body = answer(row.id, row.status, row.result)
    done = row.status == "done"
    return {
        "id": row.id,
        "ml_task_id": row.ml_task_id,
        "status": row.status,
        "ok": not body["errors"] if done else None,
        "errors": body["errors"],
        "dry_run": body["dry_run"],
        "created_at": row.created_at,
        "ended_at": row.ended_at,
    }


def _waited(dry_run_id: int, settings: Settings) -> dict[str, Any]:
    deadline = time.monotonic() + wait_s(settings)
    status, result = poll(dry_run_id)
    while status not in ("done", "gone") and time.monotonic() < deadline:
        time.sleep(POLL_S)
        status, result = poll(dry_run_id)
    return answer(dry_run_id, status, result)


def run(db: Session, settings: Settings, user: User, task: MLTask, doc: dict[str, Any]) -> dict[str, Any]:
    """{'errors', 'dry_run'} once a worker ran DOC on one small batch, or the pending answer (with 'poll_url')."""
    with slots.held(user.id, settings):
        dry_run_id = start(db, settings, user, task, doc)
        return _waited(dry_run_id, settings)


async def run_async(db: Session, settings: Settings, user: User, task: MLTask, doc: dict[str, Any]) -> dict[str, Any]:
    """As run, holding no request thread and no request connection while it waits."""
    from starlette.concurrency import run_in_threadpool

    with slots.held(user.id, settings):
        dry_run_id = await run_in_threadpool(start, db, settings, user, task, doc)
        await run_in_threadpool(db.close)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s(settings)
        while True:
            status, result = await loop.run_in_executor(poll_executor(), poll, dry_run_id)
            if status in ("done", "gone") or loop.time() >= deadline:
                return answer(dry_run_id, status, result)
            await asyncio.sleep(POLL_S)
