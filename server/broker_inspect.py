"""Which sessions the broker still holds (queued or delivered but unacknowledged), so the reconciler finds
lost messages (server/services/reconciler.py)."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

from server.settings import Settings

log = logging.getLogger(__name__)


def _session_of(body: Any) -> int | None:
    """The session id in a Celery message (protocol 2: headers.task / argsrepr, body [args, kwargs, embed])."""
    try:
        message = json.loads(body) if isinstance(body, (str, bytes)) else body
        headers = message.get("headers") or {}
        if headers.get("task") not in ("fitstudio.train", None):
            return None
        payload = message.get("body")
        if isinstance(payload, str):
            payload = json.loads(base64.b64decode(payload))
        args = payload[0] if isinstance(payload, list) else payload.get("args")
        return int(args[0])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def pending_sessions(settings: Settings, queues: list[str]) -> set[int] | None:
    """Session ids present in the broker for QUEUES; None when the broker cannot be inspected."""
    try:
        if settings.embedded_broker:
            folder = Path(settings.broker_folder) / "queue"
            return {sid for f in folder.glob("*.msg") if (sid := _session_of(f.read_bytes())) is not None}
        if settings.celery_broker_url.startswith(("redis://", "rediss://")):
            import redis

            client = redis.Redis.from_url(settings.celery_broker_url, socket_timeout=5)
            found: set[int] = set()
            for queue in queues:
                for raw in client.lrange(queue, 0, -1):
                    if (sid := _session_of(raw)) is not None:
                        found.add(sid)
            for raw in client.hvals("unacked"):
                try:
                    message = json.loads(raw)[0]
                except (ValueError, IndexError, TypeError):
                    continue
                if (sid := _session_of(message)) is not None:
                    found.add(sid)
            return found
    except Exception as exc:  # inspection is best effort; the caller falls back to time alone
        log.warning("broker inspection failed: %s", exc)
    return None
