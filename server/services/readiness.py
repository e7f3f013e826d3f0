"""Readiness: SQL, the broker, a live worker and free disk, checked on a thread of its own (never a request
thread, never the request pool), so /readyz answers while user work fills both."""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from sqlalchemy import text

from server.db import poll_session
from server.services import workers
from server.settings import Settings

TIMEOUT_S = 10.0


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="fitstudio-readyz")


def disk(settings: Settings) -> str:
    """'ok' while FITSTUDIO_HOME's disk has FITSTUDIO_READY_MIN_FREE_DISK_MB free, else how much is left."""
    free_mb = shutil.disk_usage(settings.home).free >> 20
    if free_mb < settings.ready_min_free_disk_mb:
        return (
            f"low: {free_mb} MB free under FITSTUDIO_HOME, below FITSTUDIO_READY_MIN_FREE_DISK_MB "
            f"({settings.ready_min_free_disk_mb}); uploads and trainings would fail"
        )
    return "ok"


def checks(settings: Settings) -> dict[str, str]:
    """Each check's answer: 'ok', or why not (blocking; see check)."""
    found: dict[str, str] = {}
    db = poll_session()  # the live streams' small pool: a request flood cannot take its connections
    try:
        try:
            db.execute(text("SELECT 1"))
            found["sql"] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            found["sql"] = f"error: {type(exc).__name__}"
        try:
            from server.broker import broker_ping  # Celery loads at the first check, not at API start-up

            broker_ping(settings)
            found["broker"] = "ok"
        except Exception as exc:
            found["broker"] = f"error: {type(exc).__name__}"
        try:
            found["workers"] = workers.readiness(db, settings) if found["sql"] == "ok" else "unknown: no SQL"
        except Exception as exc:
            found["workers"] = f"error: {type(exc).__name__}"
    finally:
        db.close()
    try:
        found["disk"] = disk(settings)
    except OSError as exc:
        found["disk"] = f"error: {exc.strerror}"
    return found


async def check(settings: Settings) -> dict[str, str]:
    """The checks, run on readiness's own thread; a check stuck past TIMEOUT_S is reported, not waited for."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(_executor(), checks, settings), TIMEOUT_S)
    except TimeoutError:
        return {"readiness": f"error: the checks took more than {TIMEOUT_S:g} s"}
