"""Scoring and export of a model that needs the user's code to load: a worker runs them in the training sandbox.

Scoring: the API preprocesses the rows itself (the stored preprocessing, no user code) and writes the model inputs
to an exchange folder of the artifact store (shared by the API and every worker), publishes `fitstudio.score` and
waits a bounded time (FITSTUDIO_SCORING_WAIT_S) for the worker's reply in that folder: the model's raw output, which
the API turns into the usual answer (server/services/scoring.py). Export: the same request with kind "export" and a
format; the reply is the exported file (server/services/export.py). The worker's side is worker/score_task.py.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.services import workers
from server.settings import Settings

TASK = "fitstudio.score"
TOKEN = re.compile(r"[0-9a-f]{32}")
REQUEST, INPUTS, CLAIM, REPLY, OUTPUT = "request.json", "inputs.npz", "claimed", "reply.json", "output.npy"
EXPORTED = "exported"  # the export's file (a .zip or an .onnx, as the request's format says)
SCORE, EXPORT = "score", "export"  # the request's kind
WHAT = {SCORE: "scoring", EXPORT: "export"}
T = TypeVar("T")
POLL_S = 0.1
STALE_S = 3600  # exchange folders older than this were left by an API process that stopped while waiting
WAIT_S: float | None = None  # tests may fix the wait; None = FITSTUDIO_SCORING_WAIT_S


class _Slots:
    """How many requests of this API process wait for a worker's scoring at once (beyond the cap: 503)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waiting = 0

    def take(self, cap: int) -> None:
        with self._lock:
            if self.waiting >= cap:
                raise ApiError(
                    503,
                    "too_many_scorings",
                    f"This server already waits for {cap} sandboxed scorings (FITSTUDIO_SCORING_MAX_WAITING); "
                    "retry in a minute.",
                )
            self.waiting += 1

    def give_back(self) -> None:
        with self._lock:
            self.waiting -= 1


slots = _Slots()


def exchange(settings: Settings, token: str) -> Path:
    """The folder where the API and a worker exchange one scoring's inputs and reply."""
    if not TOKEN.fullmatch(token):
        raise ValueError(f"not a scoring token: {token!r}")
    return settings.artifacts / "scoring" / token


def score(
    db: Session, settings: Settings, design: dict[str, Any], queue: str, model: Path, inputs: dict[str, np.ndarray]
) -> np.ndarray:
    """The raw output of MODEL on INPUTS, computed by a worker that runs DESIGN's cells in its sandbox."""
    rows = len(next(iter(inputs.values())))
    request = {"kind": SCORE, "design": design, "model": str(model)}
    return _run(
        db,
        settings,
        queue,
        request,
        lambda folder: np.savez(folder / INPUTS, **inputs),
        lambda folder, reply: _output(folder, reply, rows),
    )


def export(
    db: Session, settings: Settings, design: dict[str, Any], queue: str, model: Path, fmt: str, dest: Path
) -> None:
    """Write MODEL's export in FMT (core/exporting.py) to DEST, made by a worker that runs DESIGN's cells."""
    request = {"kind": EXPORT, "design": design, "model": str(model), "format": fmt}
    _run(db, settings, queue, request, lambda folder: None, lambda folder, reply: _exported(folder, reply, dest))


def _run(
    db: Session,
    settings: Settings,
    queue: str,
    request: dict[str, Any],
    write_files: Callable[[Path], None],
    take: Callable[[Path, dict[str, Any]], T],
) -> T:
    """Leave REQUEST (and the files WRITE_FILES puts next to it) for a worker of QUEUE; TAKE reads its reply."""
    if not workers.serves(db, settings, queue):
        raise ApiError(
            503,
            "no_worker",
            f"This model needs its training's code to load, which only a worker runs (in its sandbox), and no live "
            f"worker consumes the {queue!r} queue. Start one (fitstudio worker --queues {queue}) and retry.",
        )
    db.close()  # no pooled connection is held while the request waits
    slots.take(settings.scoring_max_waiting)
    token = secrets.token_hex(16)
    folder = exchange(settings, token)
    try:
        _write_request(folder, request, write_files)
        _publish(settings, token, queue)
        reply = _wait(folder, WAIT_S if WAIT_S is not None else settings.scoring_wait_s, request["kind"])
        return take(folder, reply)
    finally:
        slots.give_back()
        shutil.rmtree(folder, ignore_errors=True)


def _write_request(folder: Path, request: dict[str, Any], write_files: Callable[[Path], None]) -> None:
    _sweep(folder.parent)
    folder.mkdir(parents=True)
    write_files(folder)
    tmp = folder / f"{REQUEST}.tmp"
    tmp.write_text(json.dumps(request))
    tmp.replace(folder / REQUEST)  # the worker reads the request only once it is whole


def _sweep(root: Path) -> None:
    """Remove the exchange folders an API process left behind when it stopped while waiting."""
    if not root.is_dir():
        return
    cutoff = time.time() - STALE_S
    for entry in root.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def _publish(settings: Settings, token: str, queue: str) -> None:
    from server.broker import publish  # Celery loads on the first publish, not at API start-up

    try:
        publish(settings, TASK, token, queue)
    except Exception as exc:  # no broker: nothing will score it, so say so now instead of a 500 or a long wait
        raise ApiError(
            503, "broker_unavailable", "The task broker does not answer; retry the prediction later."
        ) from exc


def _wait(folder: Path, wait_s: float, kind: str) -> dict[str, Any]:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            return json.loads((folder / REPLY).read_text())
        except (OSError, ValueError):
            time.sleep(POLL_S)
    started = "a worker took it" if (folder / CLAIM).exists() else "no worker took it (all may be busy training)"
    raise ApiError(
        504,
        "scoring_timeout",
        f"The sandboxed {WHAT[kind]} did not answer within {wait_s:g} s ({started}; FITSTUDIO_SCORING_WAIT_S); "
        "retry later.",
    )


def _output(folder: Path, reply: dict[str, Any], rows: int) -> np.ndarray:
    """The model's output of an OK reply, or the error the reply means."""
    if not reply.get("ok"):
        raise refusal(reply)
    try:
        output = np.load(folder / OUTPUT, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ApiError(503, "scoring_failed", f"The worker's scoring left no readable output ({exc}).") from None
    if output.dtype.kind != "f" or output.ndim < 1 or output.shape[0] != rows:
        raise ApiError(
            422, "prediction_failed", f"The model gave an output of shape {list(output.shape)} for {rows} row(s)."
        )
    return output


def _exported(folder: Path, reply: dict[str, Any], dest: Path) -> None:
    """Move the export of an OK reply to DEST, or raise the error the reply means."""
    if not reply.get("ok"):
        raise refusal(reply, EXPORT)
    if not (folder / EXPORTED).is_file():
        raise ApiError(503, "scoring_failed", "The worker's export left no file.")
    shutil.move(str(folder / EXPORTED), dest)


def refusal(reply: dict[str, Any], kind: str = SCORE) -> ApiError:
    """The JSON error for a failed sandboxed scoring or export: what the worker's reply says happened."""
    error = reply.get("error") or {}
    where = f" (cell {error['cell']}, line {error['line']})" if error.get("cell") and error.get("line") else ""
    reason = f"{error.get('type')}: {str(error.get('message'))[:1000]}{where}"
    if reply.get("killed_for") == "time_limit":
        return ApiError(504, "scoring_timeout", f"The sandboxed {WHAT[kind]} ran past its time limit: {reason}.")
    if reply.get("killed_for") == "memory_limit":
        if kind == EXPORT:
            return ApiError(422, "export_failed", f"The export went over the training's memory limit ({reason}).")
        return ApiError(
            422, "prediction_failed", f"The scoring went over the memory limit; send fewer rows ({reason})."
        )
    if reply.get("stage") == "load":
        return ApiError(
            409,
            "model_not_loadable",
            f"The model cannot be loaded, even with its training's code cells run in the sandbox: {reason}.",
        )
    if reply.get("stage") == "predict":
        return ApiError(422, "prediction_failed", f"The model failed on these rows: {reason}.")
    if reply.get("stage") == "export":
        return ApiError(422, "export_failed", f"The exporter cannot handle this model: {reason}.")
    doing = "export the model" if kind == EXPORT else "score the rows"
    return ApiError(503, "scoring_failed", f"The worker could not {doing}: {reason}.")
