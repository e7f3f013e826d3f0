"""Server-Sent Events of a session: status, batch, epoch, log, end — resumable with Last-Event-ID."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.status import TERMINAL, SessionStatus
from server.db import poll_session
from server.errors import ApiError
from server.models import TrainingSession
from server.services import session_log, session_progress, sessions
from server.settings import Settings, get_settings


@dataclass
class Cursor:
    """How far a client has read: epochs seen and the byte offset in the log (the SSE event id)."""

    epochs: int = 0
    log_offset: int = 0

    @classmethod
    def parse(cls, last_event_id: str | None) -> Cursor:
        """The cursor of a Last-Event-ID header ('<epochs>:<log offset>'); the start when absent or bad."""
        try:
            epochs, offset = (last_event_id or "").split(":")
            return cls(max(0, int(epochs)), max(0, int(offset)))
        except ValueError:
            return cls()

    def event_id(self) -> str:
        """This cursor as an SSE id."""
        return f"{self.epochs}:{self.log_offset}"


def log_lines(text: str) -> list[str]:
    """Lines as a terminal would show them: a carriage return redraws its line (Keras progress bars)."""
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    return [line for line in lines if line]


def format_event(kind: str, data: Any, cursor: Cursor) -> str:
    """One SSE frame."""
    return f"id: {cursor.event_id()}\nevent: {kind}\ndata: {json.dumps(data, default=str)}\n\n"


def status_event(row: TrainingSession) -> dict[str, Any]:
    """A status event: the status, its worker, the phase it is in (since when, and those before) and its place."""
    progress = session_progress.progress(row)
    return {
        "status": row.status,
        "worker": row.worker,
        "started_at": row.started_at,
        "phase": progress["phase"],
        "phase_started_at": progress["phase_started_at"],
        "phases": progress["phases"],
        "queue_position": session_progress.queue_position(row),
    }


class SessionStream:
    """Polls SQL and the log file and yields the frames that are new since the cursor."""

    def __init__(self, settings: Settings, session_id: int, cursor: Cursor):
        self.settings = settings
        self.session_id = session_id
        self.cursor = cursor
        self.status: tuple[Any, ...] | None = None  # what the last status event said (status, phase, place)
        self.progress: dict[str, Any] | None = None
        self.ended = False

    def poll(self) -> list[str]:
        """The frames produced since the last poll (blocking SQL; run it in a thread from async code)."""
        db = poll_session()  # held for this poll only, from the streams' own small pool
        try:
            row = db.get(TrainingSession, self.session_id)
            if row is None:
                self.ended = True
                return []
            frames: list[str] = []
            status = status_event(row)
            key = (status["status"], status["phase"], status["phase_started_at"], status["queue_position"])
            if key != self.status:
                self.status = key
                frames.append(format_event("status", status, self.cursor))
            history = row.history or []
            for entry in history[self.cursor.epochs :]:
                self.cursor.epochs += 1
                frames.append(format_event("epoch", entry, self.cursor))
            if row.progress and row.progress != self.progress and row.status == SessionStatus.RUNNING:
                self.progress = dict(row.progress)
                frames.append(format_event("batch", self.progress, self.cursor))
            text, offset = session_log.read_from(self.settings, row, self.cursor.log_offset)
            if text:
                self.cursor.log_offset = offset
                frames.append(format_event("log", {"lines": log_lines(text)}, self.cursor))
            if row.status in TERMINAL:
                body = sessions.as_dict(row)
                body.pop("history", None)
                frames.append(format_event("end", body, self.cursor))
                self.ended = True
            return frames
        finally:
            db.close()

    def frames(self) -> Iterator[str]:
        """Everything new now (for tests and one-shot readers)."""
        yield from self.poll()


class StreamSlots:
    """Counts live streams per user and in all; refuses one over FITSTUDIO_SSE_MAX_PER_USER (429) or
    FITSTUDIO_SSE_MAX_STREAMS (503)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_user: Counter[int] = Counter()
        self._total = 0

    def acquire(self, user_id: int, settings: Settings) -> None:
        """Take a slot for USER_ID, or raise the 429/503 ApiError."""
        with self._lock:
            if self._per_user[user_id] >= settings.sse_max_per_user:
                raise ApiError(
                    429,
                    "too_many_streams",
                    f"You already have {settings.sse_max_per_user} live event streams open "
                    "(FITSTUDIO_SSE_MAX_PER_USER); close one, or poll GET /sessions/{id}.",
                )
            if self._total >= settings.sse_max_streams:
                raise ApiError(
                    503,
                    "too_many_streams",
                    f"This server already serves {settings.sse_max_streams} live event streams "
                    "(FITSTUDIO_SSE_MAX_STREAMS); retry later, or poll GET /sessions/{id}.",
                )
            self._per_user[user_id] += 1
            self._total += 1

    def release(self, user_id: int) -> None:
        """Give back a slot of USER_ID."""
        with self._lock:
            if self._per_user[user_id] > 0:
                self._per_user[user_id] -= 1
                self._total -= 1
            if self._per_user[user_id] <= 0:
                del self._per_user[user_id]

    def open_streams(self) -> int:
        """How many streams are open now."""
        with self._lock:
            return self._total


slots = StreamSlots()


@lru_cache
def _executor(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max(1, threads), thread_name_prefix="fitstudio-sse")


def poll_executor() -> ThreadPoolExecutor:
    """The few threads every stream's polls run on (never the request threads)."""
    return _executor(get_settings().sse_poll_threads)
