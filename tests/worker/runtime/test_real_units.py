"""The saved regression model predicts the real target: a Rescaling layer appended, loaded in safe mode, scored once."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from worker.runtime.real_units import LAYER_NAME, in_real_units

SCALING = {"method": "standard", "mean": 150.0, "std": 40.0}
PREP: dict[str, Any] = {
    "main": [
        {"column": "x", "kind": "numeric", "mean": 0.0, "std": 1.0},
        {"column": "z", "kind": "numeric", "mean": 0.0, "std": 1.0},
    ],
    "text": {},
    "image": {},
    "input_shapes": {"main": [2]},
    "target": {"kind": "regression", "scaling": SCALING},
}
X = np.array([[0.5, -1.0], [2.0, 3.0], [-0.25, 0.0]], dtype="float32")


def _functional() -> Any:
    import keras

    inputs = keras.Input((2,), name="main")
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(keras.layers.Dense(4)(inputs)))


def _sequential() -> Any:
    import keras

    return keras.Sequential([keras.Input((2,), name="main"), keras.layers.Dense(3), keras.layers.Dense(1)])


def _deferred_sequential() -> Any:
    """A Sequential without an Input (the Keras callbacks guide's): built by its first call."""
    import keras

    return keras.Sequential([keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])


@pytest.mark.parametrize("make", [_functional, _sequential, _deferred_sequential])
def test_saved_model_outputs_real_units_and_loads_in_safe_mode(tmp_path: Path, make: Any) -> None:
    import keras

    from server.services import scoring

    model, prep = make(), copy.deepcopy(PREP)
    scaled = np.asarray(model.predict(X, verbose=0))
    saved = in_real_units(model, prep)
    assert prep["target"]["scaling"]["in_model"] is True  # recorded with the model: scoring must not undo it again
    path = tmp_path / "model.keras"
    saved.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)  # no Lambda: plain Keras loads it
    assert loaded.layers[-1].name == LAYER_NAME
    real = np.asarray(loaded.predict(X, verbose=0))
    assert real == pytest.approx(scaled * 40.0 + 150.0, rel=1e-5)
    row = SimpleNamespace(preprocessing=prep, prediction_type="regression", class_labels=None)
    rows = [{"x": float(a), "z": float(b)} for a, b in X]
    assert scoring.predict(row, path, rows)["predictions"] == pytest.approx(real[:, 0].tolist(), rel=1e-5)


def test_older_model_file_is_still_unscaled_at_scoring(tmp_path: Path) -> None:
    from server.services import scoring

    model = _functional()
    scaled = np.asarray(model.predict(X, verbose=0))
    path = tmp_path / "old.keras"
    model.save(path)  # saved before the Rescaling layer: its scaling has no in_model
    row = SimpleNamespace(preprocessing=copy.deepcopy(PREP), prediction_type="regression", class_labels=None)
    rows = [{"x": float(a), "z": float(b)} for a, b in X]
    expected = (scaled * 40.0 + 150.0)[:, 0].tolist()
    assert scoring.predict(row, path, rows)["predictions"] == pytest.approx(expected, rel=1e-5)


def test_subclassed_and_classification_models_are_saved_as_they_are() -> None:
    import keras

    class Tiny(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x: Any) -> Any:
            return self.dense(x)

    tiny, prep = Tiny(), copy.deepcopy(PREP)
    tiny.predict(X, verbose=0)
    assert in_real_units(tiny, prep) is tiny and "in_model" not in prep["target"]["scaling"]
    classification = {**PREP, "target": {"kind": "classification", "classes": ["a", "b"]}}
    model = _functional()
    assert in_real_units(model, classification) is model
