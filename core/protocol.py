"""The pipe protocol between the training child and its worker: JSON lines, one message a line."""

from __future__ import annotations

import json
import math
import os
import threading
from typing import Any


def jsonable(value: Any) -> Any:
    """VALUE with numpy scalars turned into Python numbers and NaN/inf into None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def reply_line(request_id: Any, reply: dict[str, Any]) -> bytes:
    """The worker's answer to request REQUEST_ID: an envelope, so the reply's own fields never mix with it."""
    return encode({"id": request_id, "reply": reply})


def encode(message: dict[str, Any]) -> bytes:
    """One protocol line."""
    return (json.dumps(jsonable(message), separators=(",", ":")) + "\n").encode()


class ChildChannel:
    """The child's end: send events to the worker, ask it questions and wait for answers."""

    def __init__(self, events_fd: int, replies_fd: int | None):
        self._out = os.fdopen(events_fd, "wb", buffering=0)
        self._in = os.fdopen(replies_fd, "rb") if replies_fd is not None else None
        self._lock = threading.Lock()
        self._next = 0

    def send(self, message: dict[str, Any]) -> None:
        """Send one event."""
        with self._lock:
            self._out.write(encode(message))

    def ask(self, kind: str, **payload: Any) -> dict[str, Any]:
        """Send a request and block for the worker's reply."""
        if self._in is None:
            raise RuntimeError("this training has no reply channel to the worker")
        with self._lock:
            self._next += 1
            rid = self._next
            self._out.write(encode({"type": "request", "id": rid, "kind": kind, **payload}))
            line = self._in.readline()
        if not line:
            raise RuntimeError("the worker closed the reply channel")
        envelope = json.loads(line)
        # The envelope keeps the request id apart from the answer, whose own fields (a model's "id") are free.
        if envelope.get("id") != rid or not isinstance(envelope.get("reply"), dict):
            raise RuntimeError("out-of-order reply from the worker")
        return envelope["reply"]


# The phases of a training, in order, as the child announces them ({"type": "status", "phase": ...}) and the
# session's progress stores them; the words are what pages and the log show.
PHASES: dict[str, str] = {
    "queued": "queued",
    "starting": "starting",
    "loading_data": "loading data",
    "preprocessing": "preprocessing",
    "building_model": "building the model",
    "training": "training",
    "saving": "saving the model",
    "evaluating": "evaluating",
}
MAX_PHASES = 32  # phases one run may record (a resumed run starts its own list); more are ignored


def phase_event(phase: str) -> dict[str, Any]:
    """The child's event announcing PHASE (one of PHASES)."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    return {"type": "status", "phase": phase}
