"""What a session's panel adds to its detail: phases with their times, its place in the queue, the metric's way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.catalog import greater_is_better
from core.protocol import PHASES
from server.models import TrainingSession
from server.services import session_progress


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st…"""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def waiting_text(position: int | None) -> str:
    """What a queued session says while it waits: 'queued — 3rd in line' (live.js writes the same)."""
    return f"queued — {ordinal(position)} in line" if position else "waiting for a worker…"


def _at(stamp: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def timed_phases(row: TrainingSession, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each phase with its words and seconds: until the next one, the end, or NOW while the session lives."""
    phases = session_progress.phases(row)
    end = _aware(row.ended_at) if row.ended_at else (now or datetime.now(UTC))
    shown = []
    for i, phase in enumerate(phases):
        start = _at(phase.get("started_at"))
        stop = _at(phases[i + 1].get("started_at")) if i + 1 < len(phases) else end
        seconds = (stop - start).total_seconds() if start and stop else None
        name = str(phase.get("phase"))
        shown.append({**phase, "words": PHASES.get(name, name), "seconds": max(0.0, seconds or 0.0)})
    return shown


def _direction(row: TrainingSession) -> bool | None:
    """Whether a greater metric is better (None for a custom score, whose cell says so at run time)."""
    design = row.design or {}
    try:
        return greater_is_better(design.get("prediction_type", ""), design.get("settings", {}).get("metric", ""))
    except (KeyError, ValueError):
        return None


def extend(detail: dict[str, Any], row: TrainingSession) -> dict[str, Any]:
    """DETAIL (results.detail) with what the panel shows of phases and the queue, and what live.js needs."""
    position = session_progress.queue_position(row)
    progress = session_progress.progress(row)
    return {
        **detail,
        "progress": progress,
        "phase": progress["phase"],
        "phases": timed_phases(row),
        "phase_words": PHASES,
        "queue_position": position,
        "waiting_text": waiting_text(position),
        "greater_is_better": _direction(row),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }
