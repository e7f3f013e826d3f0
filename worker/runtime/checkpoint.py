"""Epoch checkpoints a session resumes from after its worker is lost or drained (standard mode)."""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.protocol import jsonable

STATE = "state.json"


@dataclass(frozen=True)
class Snapshot:
    """What a checkpoint keeps besides the model's weights: the training's progress and its best epoch so far."""

    completed_epochs: int
    history: list[dict[str, Any]]
    best_epoch: int | None
    best_value: float | None
    best_weights: list[np.ndarray] | None
    lineage: list[Any] | None


def save_checkpoint(folder: Path, model: Any, snapshot: Snapshot) -> None:
    """Write a new generation of weights, best weights and state; state.json (last) makes it current."""
    folder.mkdir(parents=True, exist_ok=True)
    generation = time.time_ns()
    weights = folder / f"model-{generation}.weights.h5"
    model.save_weights(weights)
    best = None
    if snapshot.best_weights is not None:
        best = folder / f"best-{generation}.npz"
        with open(best, "wb") as fh:
            np.savez(fh, *snapshot.best_weights)
    state = {
        "weights": weights.name,
        "best": best.name if best else None,
        "completed_epochs": snapshot.completed_epochs,
        "history": snapshot.history,
        "best_epoch": snapshot.best_epoch,
        "best_value": snapshot.best_value,
        "lineage": snapshot.lineage,
        "saved_at": time.time(),
    }
    tmp = folder / f".{STATE}.tmp"
    tmp.write_text(json.dumps(jsonable(state)))
    tmp.replace(folder / STATE)
    for old in folder.iterdir():
        if old.name not in (STATE, weights.name, best.name if best else "") and not old.name.startswith("."):
            old.unlink(missing_ok=True)


def load_checkpoint(folder: Path) -> dict[str, Any] | None:
    """The current checkpoint's state, with the paths of its files, or None."""
    path = folder / STATE
    try:  # the worker reads this too: never through a link the training put in place of it
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        try:
            state = json.loads(fh.read(64 << 20))
        except ValueError:
            return None
    if not isinstance(state, dict) or not isinstance(state.get("weights"), str):
        return None
    state["weights_path"] = folder / state["weights"]
    state["best_path"] = folder / state["best"] if state.get("best") else None
    return state if state["weights_path"].is_file() else None


def load_best_weights(state: dict[str, Any]) -> list[np.ndarray] | None:
    """The best epoch's weights stored with a checkpoint."""
    if not state.get("best_path"):
        return None
    with np.load(state["best_path"]) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]
