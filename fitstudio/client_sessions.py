"""Comparing sessions and their tags and notes in the Python client (what fitstudio.client.MLTask takes from here)."""

from __future__ import annotations

from typing import Any


class SessionTools:
    """`ml_task.compare([1, 2])`, `ml_task.set_session_tags(id, [...])`, `ml_task.set_session_note(id, "...")`."""

    client: Any
    id: str

    def compare(self, sessions: list[int | str]) -> dict[str, Any]:
        """Sessions by number (1 or "s1"): `{sessions, best, design_diff}` (GET /ml-tasks/{id}/compare)."""
        numbers = ",".join(str(s) for s in sessions)
        return self.client.json("GET", f"/ml-tasks/{self.id}/compare", params={"sessions": numbers})

    def set_session_tags(self, session_id: int, tags: list[str]) -> dict[str, Any]:
        """Replace a session's tags (its id, not its number); returns the session."""
        return self.client.json("PATCH", f"/sessions/{session_id}", json={"tags": list(tags)})

    def set_session_note(self, session_id: int, note: str) -> dict[str, Any]:
        """Replace a session's free-text note ("" clears it); returns the session."""
        return self.client.json("PATCH", f"/sessions/{session_id}", json={"note": note})
