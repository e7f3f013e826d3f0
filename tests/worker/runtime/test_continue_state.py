"""The full state a continued (or resumed) training starts from: weights, Adam's slots and step counter, history,
best epoch and the early-stopping counter (worker/runtime/checkpoint.py, resume.py, fit.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from tests.worker.runtime.test_resume import _base, _job
from worker.runtime.checkpoint import FINAL, STATE, keep_final, load_checkpoint, seed_from
from worker.runtime.fit import early_stopping
from worker.runtime.resume import Checkpoints

pytestmark = pytest.mark.slow  # each test fits a small model for a few epochs

EPOCHS = 20


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    return x, (x @ rng.normal(size=(8, 1)) + 0.3 * np.sin(3 * x[:, :1])).astype("float32")


def _adam_model() -> keras.Model:
    """A small net whose first epochs after a restart from fresh Adam moments jump: lr 0.02, no warm-up."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8,), name="main")
    hidden = keras.layers.Dense(16, activation="tanh")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    return model


def _one_more_epoch(model: keras.Model, base: Any, start: int) -> float:
    x, y = _data()
    model.fit(x, y, batch_size=32, epochs=start + 1, initial_epoch=start, shuffle=False, verbose=0, callbacks=[base])
    return float(base.run.history[-1]["loss"])


def test_a_continued_training_goes_on_exactly_where_the_first_ended_and_weights_alone_do_not(tmp_path: Path) -> None:
    x, y = _data()
    first, base = _adam_model(), _base()
    first.fit(x, y, batch_size=32, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[base])
    last = float(base.run.history[-1]["loss"])
    Checkpoints(_job(tmp_path)).save_final(first, base.run)
    state: Any = load_checkpoint(tmp_path / "checkpoint")
    assert state["completed_epochs"] == EPOCHS and state["optimizer_path"].is_file()

    resumed, resumed_base = _adam_model(), _base()
    assert Checkpoints(_job(tmp_path)).restore(resumed, resumed_base) == EPOCHS
    assert int(resumed.optimizer.iterations) == int(first.optimizer.iterations) == EPOCHS * 8  # the step counter
    for mine, theirs in zip(resumed.optimizer.variables, first.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))  # the slots (Adam's moments)
    continued = _one_more_epoch(resumed, resumed_base, EPOCHS)
    assert [h["epoch"] for h in resumed_base.run.history] == list(range(1, EPOCHS + 2))  # numbers go on, no gap
    uninterrupted = _one_more_epoch(first, base, EPOCHS)  # the same training, never stopped
    assert abs(continued - uninterrupted) <= 1e-4 * uninterrupted
    assert abs(continued - last) <= 0.05 * last, (last, continued)

    # The control: the same checkpoint without the optimizer's state (what a resume restored before) jumps.
    state["optimizer_path"].unlink()
    control, control_base = _adam_model(), _base()
    Checkpoints(_job(tmp_path)).restore(control, control_base)
    assert int(control.optimizer.iterations) == 0
    weights_only = _one_more_epoch(control, control_base, EPOCHS)
    assert weights_only > 1.2 * last, (last, weights_only)


def test_early_stopping_gets_its_best_value_and_patience_counter_back(tmp_path: Path) -> None:
    model, base = _adam_model(), _base()
    base.run.best_epoch, base.run.best_value = 15, 0.25
    resumed = early_stopping(keras, base, 6, 20)
    resumed.set_model(model)
    resumed.on_train_begin()
    assert (resumed.wait, resumed.best) == (5, 0.25)  # 5 epochs since the best: one more without gain stops it
    resumed.on_epoch_end(20, {base.metric_key: 0.3})
    assert model.stop_training

    fresh = early_stopping(keras, base, 6, None)
    fresh.set_model(model)
    fresh.on_train_begin()
    assert (fresh.wait, fresh.best) == (0, None)


def _final_state(tmp_path: Path) -> Path:
    model, base = _adam_model(), _base()
    x, y = _data()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[base])
    Checkpoints(_job(tmp_path)).save_final(model, base.run)
    final = tmp_path / FINAL
    assert keep_final(tmp_path / "checkpoint", final) and not (tmp_path / "checkpoint").exists()
    return final


def test_a_continued_session_is_seeded_with_the_final_state_and_names_its_source(tmp_path: Path) -> None:
    final = _final_state(tmp_path)
    seeded = tmp_path / "s2" / "checkpoint"
    assert seed_from(final, seeded, {"session_id": 7, "session_number": 3, "trained_model_id": "A-s3"})
    state: Any = load_checkpoint(seeded)
    assert state["completed_epochs"] == 2 and state["optimizer_path"].is_file()
    assert state["lineage"] == [
        {"kind": "continued_from", "session_id": 7, "session_number": 3, "trained_model_id": "A-s3"}
    ]
    assert not keep_final(tmp_path / "missing", tmp_path / "nothing")  # no checkpoint, no final state


def test_seeding_never_copies_through_a_link_the_training_left(tmp_path: Path) -> None:
    final = _final_state(tmp_path)
    doc = json.loads((final / STATE).read_text())
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the next training")
    os.unlink(final / doc["optimizer"])
    os.symlink(secret, final / doc["optimizer"])
    assert not seed_from(final, tmp_path / "s3" / "checkpoint", {"session_id": 1})
    assert not (tmp_path / "s3" / "checkpoint" / doc["optimizer"]).exists()


def test_advanced_mode_resumes_only_when_fit_model_takes_initial_epoch(tmp_path: Path) -> None:
    from worker.runtime.fit import takes_initial_epoch

    def dss_fit_model(model: Any, train_sequence: Any, validation_sequence: Any, base_callbacks: Any) -> None: ...

    def resumable_fit_model(
        model: Any, train_sequence: Any, validation_sequence: Any, base_callbacks: Any, initial_epoch: int = 0
    ) -> None: ...

    assert not takes_initial_epoch(dss_fit_model) and takes_initial_epoch(resumable_fit_model)
    job = _job(tmp_path, mode="advanced")
    assert not Checkpoints(job).enabled and Checkpoints(job, resumable=True).enabled
    model, base = _adam_model(), _base()
    x, y = _data()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[base])
    Checkpoints(job, resumable=True).save_final(model, base.run)  # advanced mode keeps no final state
    assert load_checkpoint(tmp_path / "checkpoint") is None
