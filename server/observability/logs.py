"""Structured logs: one JSON object per line (FITSTUDIO_LOG_FORMAT=json) for the API and worker processes."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from server.settings import get_settings

# The session the current thread works on (set by the worker around a training).
current_session_id: ContextVar[int | None] = ContextVar("fitstudio_session_id", default=None)
# The ASGI scope of the request being served (its path parameters name the session, when there is one).
current_scope: ContextVar[MutableMapping[str, Any] | None] = ContextVar("fitstudio_request_scope", default=None)

# LogRecord attributes that are not "extra" fields passed by the caller.
_STANDARD = set(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "session_id",
}
# The loggers that uvicorn and Celery give handlers of their own (so root's formatter never reaches them).
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "celery.task", "celery.redirected")


@contextmanager
def session_context(session_id: int | None) -> Iterator[None]:
    """Tag every log record of this thread (and what it starts) with SESSION_ID while the block runs."""
    token = current_session_id.set(session_id)
    try:
        yield
    finally:
        current_session_id.reset(token)


def session_id_of(record: logging.LogRecord) -> int | str | None:
    """The session a record is about: `extra={"session_id": …}`, the worker's context, or the request path."""
    explicit = getattr(record, "session_id", None)
    if explicit is not None:
        return explicit
    known = current_session_id.get()
    if known is not None:
        return known
    scope = current_scope.get()
    if scope is not None:
        value = (scope.get("path_params") or {}).get("session_id")
        if value is not None:
            return int(value) if str(value).isdigit() else str(value)
    return None


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: time, level, logger, message, session_id when known, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single-line JSON object."""
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        doc: dict[str, Any] = {
            "time": when.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        session_id = session_id_of(record)
        if session_id is not None:
            doc["session_id"] = session_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in doc:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def json_enabled() -> bool:
    """True when FITSTUDIO_LOG_FORMAT=json."""
    return get_settings().log_format == "json"


def use_json(loggers: tuple[str, ...] = SERVER_LOGGERS, level: int = logging.INFO) -> None:
    """Put a JsonFormatter on every handler of the root logger and LOGGERS (a stderr handler if root has none)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > level:
            root.setLevel(level)
    formatter = JsonFormatter()
    for logger in (root, *(logging.getLogger(name) for name in loggers)):
        for handler in logger.handlers:
            handler.setFormatter(formatter)


def configure_api_logging() -> None:
    """In the API process: switch uvicorn's and the root logger's output to JSON when asked to."""
    if json_enabled():
        use_json()


def _after_celery_setup(**_kw: object) -> None:
    """Celery's after_setup_(task_)logger receiver: JSON on its handlers when asked for."""
    if json_enabled():
        use_json()


def install_worker_logging() -> None:
    """In the worker process: re-format Celery's log handlers as JSON once Celery has set them up."""
    from celery import signals

    signals.after_setup_logger.connect(_after_celery_setup, weak=False)
    signals.after_setup_task_logger.connect(_after_celery_setup, weak=False)
