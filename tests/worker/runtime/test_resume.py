"""worker/runtime/resume.py and checkpoint.py: a checkpoint written after an epoch is what a resumed training reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.contracts import DatasetRef, Design, Job, Limits
from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring
from worker.runtime.checkpoint import load_checkpoint
from worker.runtime.resume import Checkpoints


def _job(tmp_path: Path, mode: str = "standard") -> Job:
    design = Design({"training": {"mode": mode}}, "y", "regression")
    return Job(
        session_id=1,
        session_number=1,
        dry_run=False,
        design=design,
        dataset=DatasetRef(parquet=str(tmp_path / "d.parquet")),
        out_dir=str(tmp_path / "out"),
        tensorboard_dir=None,
        gpus=[],
        allow_growth=True,
        limits=Limits(),
        checkpoint_dir=str(tmp_path / "checkpoint"),
        checkpoint_every_s=0,
    )


def _model() -> keras.Model:
    inputs = keras.Input((2,), name="main")
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _base() -> BaseCallback:
    empty = EvalSet({"main": np.zeros((0, 2), "float32")}, np.zeros(0))
    return BaseCallback(Scoring("regression", "MAE", False), empty, empty, lambda event: None, 3)


def test_a_checkpoint_after_an_epoch_is_restored_into_a_new_model(tmp_path: Path) -> None:
    model, base = _model(), _base()
    checkpoints = Checkpoints(_job(tmp_path))
    assert checkpoints.enabled and checkpoints.restore(model, base) == 0  # nothing to resume yet
    base.run.history = [{"epoch": 1, "Test MAE": 0.5}]
    base.run.best_epoch, base.run.best_value = 1, 0.5
    base.run.best_weights = [np.array(w) for w in model.get_weights()]
    checkpoints.every_epoch(model, base.run)(1)
    state: Any = load_checkpoint(tmp_path / "checkpoint")
    assert state["completed_epochs"] == 1 and state["best_epoch"] == 1

    again, fresh = _model(), _base()
    assert Checkpoints(_job(tmp_path)).restore(again, fresh) == 1
    assert fresh.run.history == [{"epoch": 1, "Test MAE": 0.5}]
    assert (fresh.run.best_epoch, fresh.run.best_value) == (1, 0.5)
    for mine, theirs in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_advanced_mode_neither_resumes_nor_checkpoints(tmp_path: Path) -> None:
    model, base = _model(), _base()
    checkpoints = Checkpoints(_job(tmp_path, mode="advanced"))
    assert not checkpoints.enabled and checkpoints.restore(model, base) == 0
    checkpoints.every_epoch(model, base.run)(1)
    assert load_checkpoint(tmp_path / "checkpoint") is None
