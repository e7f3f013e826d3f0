"""Retried transactions: a unit of SQL work run in a fresh session, again and again while the database is away."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from server.db import new_session
from server.errors import is_disk_full
from server.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# About 2.5 minutes in all (db_retry_s): a database restart or failover passes without losing a worker's write.
RETRY_DELAYS_S = (0.5, 1, 2, 4, 8, 15, 30, 30, 30, 30)


def retry_delays(total_s: float, longest_s: float = 30.0) -> list[float]:
    """The waits between attempts: RETRY_DELAYS_S, then LONGEST_S ones, each capped at LONGEST_S, up to TOTAL_S."""
    delays: list[float] = []
    for delay in itertools.chain(RETRY_DELAYS_S, itertools.repeat(longest_s)):
        delay = min(delay, longest_s)
        if sum(delays) + delay > total_s:
            return delays
        delays.append(delay)
    raise RuntimeError("unreachable")


def with_retry(fn: Callable[[Session], T], what: str, total_s: float | None = None, longest_s: float = 30.0) -> T:
    """Run FN in a fresh transaction, retrying with backoff while the database is unreachable or its disk full, for
    up to TOTAL_S (the db_retry_s setting by default)."""
    total = get_settings().db_retry_s if total_s is None else total_s
    for delay in (*retry_delays(total, longest_s), None):
        db = new_session()
        try:
            out = fn(db)
            db.commit()
            return out
        except DBAPIError as exc:
            db.rollback()
            transient = isinstance(exc, OperationalError) or exc.connection_invalidated
            if delay is None or not transient:
                raise
            full = " (the disk is full)" if is_disk_full(exc) else ""
            log.warning("%s: database error (%s)%s; retrying in %ss", what, type(exc.orig).__name__, full, delay)
            time.sleep(delay)
        finally:
            db.close()
    raise RuntimeError("unreachable")
