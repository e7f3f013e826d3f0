"""Server-Sent Events of a session: status, batch, epoch, log, end — resumable with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from server.db import new_session
from server.models import TERMINAL, TrainingSession
from server.services import session_log, sessions
from server.settings import Settings


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


class SessionStream:
    """Polls SQL and the log file and yields the frames that are new since the cursor."""

    def __init__(self, settings: Settings, session_id: int, cursor: Cursor):
        self.settings = settings
        self.session_id = session_id
        self.cursor = cursor
        self.status: str | None = None
        self.progress: dict[str, Any] | None = None
        self.ended = False

    def poll(self) -> list[str]:
        """The frames produced since the last poll (blocking SQL; run it in a thread from async code)."""
        db = new_session()
        try:
            row = db.get(TrainingSession, self.session_id)
            if row is None:
                self.ended = True
                return []
            frames: list[str] = []
            if row.status != self.status:
                self.status = row.status
                frames.append(
                    format_event(
                        "status",
                        {"status": row.status, "worker": row.worker, "started_at": row.started_at},
                        self.cursor,
                    )
                )
            history = row.history or []
            for entry in history[self.cursor.epochs :]:
                self.cursor.epochs += 1
                frames.append(format_event("epoch", entry, self.cursor))
            if row.progress and row.progress != self.progress and row.status == "running":
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
