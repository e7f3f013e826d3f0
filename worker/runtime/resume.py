"""Standard mode's epoch checkpoints inside the training: resume from the last one, write one now and then."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.contracts import Job
from fitstudio.deep_learning import _context
from worker.runtime.callbacks import BaseCallback, RunState
from worker.runtime.checkpoint import Snapshot, load_best_weights, load_checkpoint, save_checkpoint
from worker.runtime.errors import say


class Checkpoints:
    """The checkpoints of one training: only standard mode resumes (advanced mode's fit_model cannot)."""

    def __init__(self, job: Job):
        self.folder = Path(job.checkpoint_dir) if job.checkpoint_dir else None
        self.enabled = self.folder is not None and job.design.training["mode"] == "standard"
        self.every_s = float(job.checkpoint_every_s or 0)
        self._last = time.monotonic()

    def restore(self, model: Any, base: BaseCallback) -> int:
        """Load the last checkpoint into MODEL and BASE's run state; the epoch to go on from (0 without one)."""
        state = load_checkpoint(self.folder) if self.enabled and self.folder is not None else None
        if state is not None:
            model.load_weights(state["weights_path"])
            run = base.run
            run.history = list(state["history"])
            run.best_epoch, run.best_value = state.get("best_epoch"), state.get("best_value")
            run.best_weights = load_best_weights(state)
            _context.loaded_models[:] = state.get("lineage") or []
            base.initial_epoch = int(state["completed_epochs"])
            say(f"resuming from the checkpoint after epoch {base.initial_epoch}")
        self._last = time.monotonic()
        return base.initial_epoch

    def save(self, model: Any, run: RunState, completed: int) -> None:
        """Write a checkpoint after COMPLETED epochs."""
        assert self.folder is not None
        lineage = list(_context.loaded_models) or None
        snapshot = Snapshot(completed, run.history, run.best_epoch, run.best_value, run.best_weights, lineage)
        save_checkpoint(self.folder, model, snapshot)

    def every_epoch(self, model: Any, run: RunState) -> Callable[[int], None]:
        """The base callback's on_epoch_done: a checkpoint when checkpoint_every_s passed since the last one."""

        def on_epoch_done(epoch: int) -> None:
            if self.enabled and time.monotonic() - self._last >= self.every_s:
                self.save(model, run, epoch)
                self._last = time.monotonic()

        return on_epoch_done
