"""A model that needs its training's code, served to a batch job by one sandboxed child for the whole job.

A scoring or evaluation job reads, preprocesses and writes in the worker (no user code), as for any model; only the
model call needs the frozen code cells (custom layers, Lambda). So the job starts one child in the training's
sandbox with the training's limits (worker/runtime/scorer.py, kind "serve"): it runs the cells, loads the model,
then asks the worker for a batch (`score_batch`), predicts it and asks again. The worker answers each request
with the next batch's inputs, written to the child's read-only granted folder, and reads the output the child
wrote to its results folder. The child pays TensorFlow's import and the cells once per job, not once per batch.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from server.services import batch_scoring, scoring
from server.settings import Settings
from worker import child_requests
from worker.gpus import GpuPool
from worker.runner import child_error, run_in_child
from worker.score_task import scoring_job
from worker.supervisor import Outcome, Sink
from worker.workspace import Workspace

log = logging.getLogger(__name__)
SERVE = "serve"  # the child's scoring kind
REQUEST = "score_batch"  # what the child asks for, once the model is loaded and after each batch
POLL_S = 0.5  # how often a waiting side looks whether the other has gone


class ServedModelFailed(Exception):
    """The child serving the model ended or failed: its error, in the child's words or the supervisor's."""

    def __init__(self, message: str, code: str = "model_failed"):
        super().__init__(message)
        self.code = code


class SandboxedModel:
    """Call with a batch's model inputs ({name: array}) for the model's raw output, as `fast_output` gives it.

    Use as a context manager: entering starts the child (it loads the model meanwhile), leaving tells it there is
    no more work and waits for it to end (it is killed after the grace time)."""

    def __init__(
        self, settings: Settings, design: dict[str, Any], model_path: Path, label: str, gpus: list[int] | None = None
    ):
        self.settings = settings
        self.gpus = list(gpus or [])
        self.design = design
        self.workspace = Workspace(settings.scratch_root / f"{label}-{secrets.token_hex(4)}")
        self.model_path = model_path
        self._inputs: queue.Queue[Path | None] = queue.Queue(maxsize=1)
        self._outputs: queue.Queue[Path | Outcome] = queue.Queue()  # unbounded: the child's end is never held up
        self._sent = 0  # batches handed to the child
        self._closing = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fitstudio-{label}", daemon=True)
        self.outcome: Outcome | None = None

    def __enter__(self) -> SandboxedModel:
        self.workspace.create()
        model = child_requests.grant(self.model_path, self.workspace.granted)
        limit = int(self.design["settings"]["training"]["time_limit_s"])
        self.job = scoring_job(self.settings, self.design, self.workspace, {"kind": SERVE, "model": str(model)}, limit)
        self.job["gpus"] = self.gpus
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        try:
            self._inputs.put_nowait(None)  # no more batches: the child's next request is answered "done"
        except queue.Full:
            pass
        self._thread.join(timeout=30)
        if self._thread.is_alive():
            self._stop.set()  # the supervisor kills the child
            self._thread.join(timeout=60)
        self.workspace.remove()

    def _run(self) -> None:
        """The child's life (on this thread): supervised by run_in_child until it exits."""
        try:
            self.outcome = run_in_child(
                self.settings,
                self.workspace.scratch,
                self.job,
                self.gpus,
                Sink(),
                self.workspace.log,
                self._answer,
                self._stop.is_set,
            )
        except Exception as exc:  # the child could not even start
            log.exception("the sandboxed model could not start")
            self.outcome = Outcome(killed_for="start_failed", message=f"{type(exc).__name__}: {exc}")
        self._outputs.put(self.outcome)

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The child's requests: the next batch (after handing over the last one's output), or a model look-up."""
        if request.get("kind") != REQUEST:
            return child_requests.answer(self.settings, self.design, request, self.workspace.granted)
        done = request.get("done")
        if self._sent and done == self._sent:
            self._outputs.put(self.workspace.out / f"batch-{self._sent - 1}.npy")
        elif self._sent:
            return {"ok": False, "error": f"the worker handed over {self._sent} batches, not {done}"}
        while not self._closing.is_set():
            try:
                path = self._inputs.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if path is None:
                break
            self._sent += 1
            return {"ok": True, "inputs": str(path), "batch": self._sent - 1}
        return {"ok": True, "done": True}

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The model's raw output for INPUTS, computed by the child."""
        path = self.workspace.granted / f"inputs-{self._sent}.npz"
        np.savez(path, **inputs)
        path.chmod(0o644)
        self._inputs.put(path)
        while True:
            try:
                got = self._outputs.get(timeout=POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._outputs.empty():
                    raise ServedModelFailed("The sandboxed model ended without answering.") from None
        path.unlink(missing_ok=True)
        if isinstance(got, Outcome):
            self._outputs.put(got)  # a later call sees the same end
            message = got.message if got.killed_for == "start_failed" else child_error(self.workspace.out, got).message
            raise ServedModelFailed(f"The model could not be run with its training's code: {message}")
        try:
            return read_output(got, len(next(iter(inputs.values()))))
        finally:
            got.unlink(missing_ok=True)


def read_output(path: Path, n_rows: int) -> np.ndarray:
    """The output the child wrote to PATH for a batch of N_ROWS rows, checked (checked_output)."""
    try:
        with open(path, "rb") as fh:
            array = np.load(fh, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # the child's code may have written anything there
        raise ServedModelFailed(f"The model's output for a batch could not be read: {exc}") from None
    return checked_output(array, n_rows)


def checked_output(array: Any, n_rows: int) -> np.ndarray:
    """ARRAY as float64 if it is a model's output for a batch of N_ROWS rows: numeric, one row per input row, one
    or more values a row; else ServedModelFailed, so that the job fails with a clear error and not in Arrow.

    The child writes float64 itself, but the user's cells run in that child and may write anything instead."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise ServedModelFailed(f"The model returned non-numeric output ({kind}) for a batch of {n_rows} rows.")
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] == 0):
        raise ServedModelFailed(
            f"The model returned an output of shape {list(array.shape)} for a batch of {n_rows} rows: "
            "one value or one row of values per input row was expected."
        )
    if array.shape[0] != n_rows:
        raise ServedModelFailed(f"The model returned {array.shape[0]} rows for a batch of {n_rows}.")
    return array.astype("float64", copy=False)


@contextmanager
def model_runner(
    settings: Settings, model_path: Path, design: dict[str, Any] | None, label: str, pool: GpuPool | None = None
) -> Iterator[batch_scoring.Runner]:
    """How a batch job calls the model at MODEL_PATH: on one of POOL's GPUs (a job that asked for one, on a worker
    that has GPUs) or when it needs its training's code, a SandboxedModel running DESIGN's frozen cells (the design
    of its training); else in this process (None: scoring.fast_output), TensorFlow there being kept off the GPUs."""
    gpus = pool.acquire([0]) if pool is not None and pool.gpus else []
    try:
        in_child = bool(gpus)
        if not gpus:
            try:
                scoring.load_model(model_path)
            except scoring.NeedsUserCode as exc:
                if not design or not (design.get("settings") or {}).get("code"):
                    raise ServedModelFailed(exc.detail, "model_not_loadable") from None
                in_child = True
        if not in_child:
            yield None
            return
        if not design:
            raise ServedModelFailed("The model's training design is gone: it cannot be run in a child.", "no_design")
        log.info("%s: the model is served by a sandboxed child on %s", label, f"GPU(s) {gpus}" if gpus else "the CPU")
        with SandboxedModel(settings, design, model_path, label, gpus) as served:
            yield served
    finally:
        if gpus and pool is not None:
            pool.release(gpus)
