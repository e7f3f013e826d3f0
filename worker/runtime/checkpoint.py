"""Epoch checkpoints a session resumes from after its worker is lost or drained, and the final state a continued
session starts from: weights, optimizer variables (slots and step counter), history and best epoch."""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.protocol import jsonable

STATE = "state.json"
FINAL = "final"  # the session folder's copy of the last checkpoint, kept after the session ends (docs/reliability.md)


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
    optimizer = _save_optimizer(folder / f"optimizer-{generation}.npz", model)
    best = None
    if snapshot.best_weights is not None:
        best = folder / f"best-{generation}.npz"
        with open(best, "wb") as fh:
            np.savez(fh, *snapshot.best_weights)
    state = {
        "weights": weights.name,
        "best": best.name if best else None,
        "optimizer": optimizer.name if optimizer else None,
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
    keep = {STATE, weights.name, best.name if best else "", optimizer.name if optimizer else ""}
    for old in folder.iterdir():
        if old.name not in keep and not old.name.startswith("."):
            old.unlink(missing_ok=True)


def _save_optimizer(path: Path, model: Any) -> Path | None:
    """MODEL's optimizer variables (step counter, learning rate, slots) in PATH, in their order; None without any."""
    variables = list(getattr(getattr(model, "optimizer", None), "variables", None) or [])
    if not variables:
        return None
    with open(path, "wb") as fh:
        np.savez(fh, *[np.asarray(v) for v in variables])
    return path


def load_optimizer(model: Any, state: dict[str, Any]) -> bool:
    """Put the checkpoint's optimizer variables back into MODEL's optimizer; False when it has none that fit."""
    path, optimizer = state.get("optimizer_path"), getattr(model, "optimizer", None)
    if path is None or optimizer is None or not path.is_file():
        return False
    try:
        if not optimizer.built:  # its slots exist once it is built for the model's trainable variables
            optimizer.build(model.trainable_variables)
        with np.load(path) as data:
            values = [data[f"arr_{i}"] for i in range(len(data.files))]
        variables = list(optimizer.variables)
        if len(values) != len(variables) or any(
            tuple(v.shape) != x.shape for v, x in zip(variables, values, strict=False)
        ):
            return False  # another optimizer or model: better weights alone than slots on the wrong variables
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)
    except Exception:  # noqa: BLE001 - an optimizer we cannot restore (a custom one, say) resumes from the weights
        return False
    return True


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
    state["optimizer_path"] = folder / state["optimizer"] if _plain_name(state.get("optimizer")) else None
    return state if state["weights_path"].is_file() else None


def _plain_name(name: Any) -> bool:
    """Whether NAME names a file inside the checkpoint folder (the training writes state.json: never trusted)."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def keep_final(checkpoints: Path, final: Path) -> bool:
    """A session ended well: its last checkpoint (written at the end) becomes its final state; False without one."""
    shutil.rmtree(final, ignore_errors=True)
    if load_checkpoint(checkpoints) is None:
        shutil.rmtree(checkpoints, ignore_errors=True)
        return False
    checkpoints.replace(final)
    return True


def seed_from(final: Path, checkpoints: Path, continued_from: dict[str, Any]) -> bool:
    """A continued session's first checkpoint: the FINAL state of the session it continues (plain files only),
    its lineage naming that session. False when there is none."""
    state = load_checkpoint(final)
    if state is None:
        return False
    checkpoints.mkdir(parents=True, exist_ok=True)
    for key in ("weights", "best", "optimizer"):
        name = state.get(key)
        if name and _plain_name(name) and not _copy_plain(final / name, checkpoints / name):
            return False
    lineage = [e for e in (state.get("lineage") or []) if isinstance(e, dict) and e.get("kind") != "continued_from"]
    doc = {k: v for k, v in state.items() if not k.endswith("_path")}
    doc["lineage"] = [*lineage, {"kind": "continued_from", **continued_from}]
    tmp = checkpoints / f".{STATE}.tmp"
    tmp.write_text(json.dumps(jsonable(doc)))
    tmp.replace(checkpoints / STATE)
    return True


def _copy_plain(source: Path, target: Path) -> bool:
    """Copy SOURCE to TARGET when it is a plain file, never through a link."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            return False
        with open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return True


def load_best_weights(state: dict[str, Any]) -> list[np.ndarray] | None:
    """The best epoch's weights stored with a checkpoint."""
    if not state.get("best_path"):
        return None
    with np.load(state["best_path"]) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]
