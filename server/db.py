"""SQL engine and sessions: one engine per URL, sessions handed out by dependency."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from server.settings import get_settings


@lru_cache
def engine_for(url: str, pool: tuple[int, int] | None = None) -> Engine:
    """A pooled engine for URL (POOL: (size, overflow) instead of the default); SQLite gets WAL and a busy timeout
    so API and worker can share it."""
    if url.startswith("sqlite"):
        # As many pooled connections as the API's worker threads (anyio: 40): overflow connections are closed
        # on return, and each new one pays the PRAGMAs below.
        size, overflow = pool or (40, 10)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=size, max_overflow=overflow
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    size, overflow = pool or (10, 20)
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=overflow)


def get_engine() -> Engine:
    """The engine of the current settings."""
    return engine_for(get_settings().sql_url)


@lru_cache
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(url), expire_on_commit=False)


def new_session() -> Session:
    """A new ORM session on the current settings' database."""
    return _factory(get_settings().sql_url)()


@lru_cache
def _poll_factory(url: str, size: int) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(url, (size, 0)), expire_on_commit=False)


def poll_session() -> Session:
    """A session for live-stream polls: its own small pool (FITSTUDIO_SSE_POLL_THREADS connections), so waiting
    streams never take a connection from the one requests use; hold it only for one poll."""
    settings = get_settings()
    return _poll_factory(settings.sql_url, max(1, settings.sse_poll_threads))()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error (for services outside HTTP)."""
    db = new_session()
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


def get_db() -> Iterator[Session]:
    """FastAPI dependency: one session per request."""
    db = new_session()
    try:
        yield db
    finally:
        db.close()
