"""Epoch checkpoints inside the training: resume (or continue) from the last one, write one now and then, and one at
the end (the final state a continued session starts from)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.contracts import Job
from fitstudio.deep_learning import _context
from worker.runtime.callbacks import BaseCallback, RunState
from worker.runtime.checkpoint import Snapshot, load_best_weights, load_checkpoint, load_optimizer, save_checkpoint
from worker.runtime.errors import say


class Checkpoints:
    """The checkpoints of one training: RESUMABLE ones only (standard mode, or an advanced fit_model that takes
    initial_epoch); only standard mode keeps a final state to continue from (advanced mode chooses its epochs)."""

    def __init__(self, job: Job, resumable: bool | None = None):
        self.folder = Path(job.checkpoint_dir) if job.checkpoint_dir else None
        self.standard = job.design.training["mode"] == "standard"
        self.enabled = self.folder is not None and (self.standard if resumable is None else resumable)
        self.every_s = float(job.checkpoint_every_s or 0)
        self._last = time.monotonic()

    def restore(self, model: Any, base: BaseCallback) -> int:
        """Load the last checkpoint into MODEL and BASE's run state; the epoch to go on from (0 without one)."""
        state = load_checkpoint(self.folder) if self.enabled and self.folder is not None else None
        if state is not None:
            with warnings.catch_warnings():  # its optimizer is not built yet: its state comes next, from our file
                warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
                model.load_weights(state["weights_path"])
            exact = load_optimizer(model, state)  # Adam's moments and step counter go on where they were
            run = base.run
            run.history = list(state["history"])
            run.best_epoch, run.best_value = state.get("best_epoch"), state.get("best_value")
            run.best_weights = load_best_weights(state)
            _context.loaded_models[:] = state.get("lineage") or []
            base.initial_epoch = int(state["completed_epochs"])
            what = "weights, optimizer state" if exact else "weights (no optimizer state that fits)"
            say(f"resuming from the checkpoint after epoch {base.initial_epoch}: {what}, history, best epoch")
        self._last = time.monotonic()
        return base.initial_epoch

    def save(self, model: Any, run: RunState, completed: int) -> None:
        """Write a checkpoint after COMPLETED epochs."""
        assert self.folder is not None
        lineage = list(_context.loaded_models) or None
        snapshot = Snapshot(completed, run.history, run.best_epoch, run.best_value, run.best_weights, lineage)
        save_checkpoint(self.folder, model, snapshot)

    def save_final(self, model: Any, run: RunState) -> None:
        """The state at the end of the training (the last epoch's weights, not the best's): what continues it."""
        if self.enabled and self.standard:
            self.save(model, run, run.history[-1]["epoch"] if run.history else 0)

    def every_epoch(self, model: Any, run: RunState) -> Callable[[int], None]:
        """The base callback's on_epoch_done: a checkpoint when checkpoint_every_s passed since the last one."""

        def on_epoch_done(epoch: int) -> None:
            if self.enabled and time.monotonic() - self._last >= self.every_s:
                self.save(model, run, epoch)
                self._last = time.monotonic()

        return on_epoch_done
