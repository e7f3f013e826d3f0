"""The phases a training child announces, kept as the session's progress stores them (pages show them live)."""

from __future__ import annotations

from typing import Any

from core.protocol import MAX_PHASES, PHASES
from server.models import utcnow


class PhaseTrack:
    """One run's phases: the current one, when it began, and the list of those entered so far."""

    def __init__(self) -> None:
        self.phases: list[dict[str, str]] = []

    def enter(self, phase: Any) -> bool:
        """Record PHASE entered now; False (nothing recorded) for an unknown phase or past MAX_PHASES."""
        # The child runs user code, which could send anything on its channel: only known phases, a few times.
        if not isinstance(phase, str) or phase not in PHASES or len(self.phases) >= MAX_PHASES:
            return False
        self.phases.append({"phase": phase, "started_at": utcnow().isoformat()})
        return True

    def fields(self) -> dict[str, Any]:
        """What progress carries: phase, phase_started_at and phases (nothing before the first phase)."""
        if not self.phases:
            return {}
        last = self.phases[-1]
        return {"phase": last["phase"], "phase_started_at": last["started_at"], "phases": list(self.phases)}
