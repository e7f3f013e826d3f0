"""Retried transactions: a unit of SQL work run in a fresh session, again and again while the database is away."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from server.db import new_session

log = logging.getLogger(__name__)
T = TypeVar("T")

# About 2.5 minutes in all: a database restart or failover passes without losing a worker's write.
RETRY_DELAYS_S = (0.5, 1, 2, 4, 8, 15, 30, 30, 30, 30)


def with_retry(fn: Callable[[Session], T], what: str) -> T:
    """Run FN in a fresh transaction, retrying with backoff while the database is unreachable."""
    for delay in (*RETRY_DELAYS_S, None):
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
            log.warning("%s: database error (%s); retrying in %ss", what, type(exc.orig).__name__, delay)
            time.sleep(delay)
        finally:
            db.close()
    raise RuntimeError("unreachable")
