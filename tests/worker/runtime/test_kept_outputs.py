"""The final evaluation reuses the kept epoch's validation outputs instead of a second forward pass over the split:
the same numbers as computing them again with the kept weights."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from core import evaluation
from worker.runtime import callbacks
from worker.runtime.callbacks import BaseCallback, EvalSet, RunState, Scoring


def _fitted(epochs: int = 4) -> tuple[Any, BaseCallback, EvalSet]:
    """A small classifier fitted with the base callbacks, scored so that the best epoch is an early one."""
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 4)).astype("float32")
    labels = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    inputs = keras.Input((4,), name="main")
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(8)(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_crossentropy")
    validation = EvalSet({"main": x[300:]}, labels[300:])
    # "Lower log loss is better" turned around: the worst epoch is kept, so the kept weights are not the last ones.
    scoring = Scoring("binary", "Log Loss", greater=True)
    base = BaseCallback(scoring, validation, None, lambda event: None, epochs, RunState())  # type: ignore[arg-type]
    model.fit(x[:300], np.eye(2, dtype="float32")[labels[:300]], epochs=epochs, verbose=0, callbacks=[base])
    return model, base, validation


def test_the_kept_epochs_outputs_are_those_of_its_weights() -> None:
    model, base, validation = _fitted()
    run = base.run
    assert run.best_epoch is not None and run.best_epoch < len(run.history)  # an earlier epoch than the last
    assert run.best_outputs is not None and run.best_weights is not None
    last = validation.predict(model)
    model.set_weights(run.best_weights)
    kept_true, kept_output = run.best_outputs
    np.testing.assert_array_equal(kept_true, validation.y_true)
    assert not np.allclose(kept_output, last, atol=1e-4)  # the last epoch's outputs differ: not what is kept
    np.testing.assert_allclose(kept_output, validation.predict(model), rtol=1e-5, atol=1e-6)
    reused = evaluation.of_model("binary", validation, model, ["no", "yes"], run.best_outputs)
    again = evaluation.of_model("binary", validation, model, ["no", "yes"])
    assert reused is not None and again is not None
    assert reused["confusion_matrix"] == again["confusion_matrix"]
    assert reused["roc"][0]["auc"] == pytest.approx(again["roc"][0]["auc"], abs=1e-6)


def test_outputs_above_the_bound_are_not_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callbacks, "KEEP_OUTPUTS_BYTES", 0)
    _, base, _ = _fitted(epochs=2)
    assert base.run.best_weights is not None and base.run.best_outputs is None  # computed again at the end
