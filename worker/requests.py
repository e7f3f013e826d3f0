"""Answers to the training child's requests (it has no credentials; the worker checks the submitter's rights)."""

from __future__ import annotations

from typing import Any

from server.settings import Settings


def answer(settings: Settings, design: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """Reply to one request of the child training DESIGN (a frozen design names its submitter)."""
    kind = request.get("kind")
    if kind == "model_location":
        from worker.model_resolver import resolve

        return resolve(settings, design, request)
    return {"ok": False, "error": f"unknown request {kind!r}"}
