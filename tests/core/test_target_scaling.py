"""A regression target's standard scaling: fitted, applied, undone; absent for older models."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core import target_scaling


def test_fit_scale_and_unscale_round_trip() -> None:
    y = np.array([100.0, 150.0, 200.0, 250.0, np.nan])
    scaling = target_scaling.fit(y)
    assert scaling["method"] == "standard"
    assert scaling["mean"] == pytest.approx(175.0)
    assert scaling["std"] == pytest.approx(np.std([100.0, 150.0, 200.0, 250.0]))
    scaled = target_scaling.scale(y[:4, None].astype("float32"), scaling)
    assert scaled.dtype == np.float32
    assert scaled.mean() == pytest.approx(0.0, abs=1e-6) and scaled.std() == pytest.approx(1.0, abs=1e-5)
    assert target_scaling.unscale(scaled, scaling)[:, 0] == pytest.approx(y[:4], rel=1e-5)


def test_constant_target_gets_unit_std() -> None:
    assert target_scaling.fit([3.0, 3.0, 3.0]) == {"method": "standard", "mean": 3.0, "std": 1.0}


def test_models_without_scaling_are_used_unchanged() -> None:
    out = np.array([[1.5], [2.5]])
    for prep in (None, {}, {"target": {"kind": "regression"}}, {"target": {"kind": "classification"}}):
        scaling = target_scaling.of(prep)
        assert scaling is None
        assert target_scaling.unscale(out, scaling) is out
        assert target_scaling.scale(out, scaling) is out


def test_rest_scoring_undoes_the_stored_scaling(tmp_path: Path) -> None:
    import keras

    from server.services import scoring

    inputs = keras.Input((1,), name="main")
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    prep = {
        "main": [{"column": "x", "kind": "numeric", "mean": 0.0, "std": 1.0}],
        "text": {},
        "image": {},
        "input_shapes": {"main": [1]},
        "target": {"kind": "regression"},
    }
    old = SimpleNamespace(preprocessing=prep, prediction_type="regression", class_labels=None)
    assert scoring.predict(old, path, [{"x": 2.0}])["predictions"] == pytest.approx([2.0])
    scaled = {**prep, "target": {"kind": "regression", "scaling": {"method": "standard", "mean": 100.0, "std": 10.0}}}
    new = SimpleNamespace(preprocessing=scaled, prediction_type="regression", class_labels=None)
    assert scoring.predict(new, path, [{"x": 2.0}, {"x": -1.0}])["predictions"] == pytest.approx([120.0, 90.0])
