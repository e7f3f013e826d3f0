"""The library versions and seeds a trained model's child recorded (kept with its preprocessing, no schema change)."""

from __future__ import annotations

from typing import Any

from server.models import TrainedModel


def of(model: TrainedModel) -> dict[str, dict[str, Any]]:
    """{environment, seeds} of MODEL; a model trained before they were recorded has no versions and its split seed."""
    prep = model.preprocessing or {}
    seeds = prep.get("seeds")
    if not seeds:
        split = ((model.session.design or {}).get("settings") or {}).get("split") or {}
        seeds = {"split": split.get("seed"), "tensorflow": None}
    return {"environment": prep.get("environment") or {}, "seeds": seeds}
