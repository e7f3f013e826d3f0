"""Models with custom objects are scored by a worker that runs their frozen code cells in the training's sandbox.

Issue 15: the keras.io structured-data example (a custom layer) trained, then …/predict answered 500. The API never
runs user code, so it cannot load such a file; a real worker here runs the cells, loads the model and predicts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import Runtime, csv_bytes
from tests.e2e.test_model_summary import COMPILE, CUSTOM
from tests.e2e.test_models import cancer_frame

pytestmark = pytest.mark.slow

# The custom layer of tests/e2e/test_model_summary.py, behind a check that the cell cannot see the service's home.
UNREGISTERED = (
    """
import os

if os.path.exists(API_DATABASE):  # the sandbox shows nothing of the service's home, when training and scoring
    raise RuntimeError("this cell runs outside the sandbox")
"""
    + CUSTOM
)

# keras.io's way: a registered, configurable layer (https://keras.io/guides/serialization_and_saving/).
REGISTERED = (
    """
import keras
from keras.layers import Dense, Input
from keras.models import Model


@keras.saving.register_keras_serializable(package="fitstudio_e2e")
class Scale(keras.layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def build_model(input_shapes, n_classes=None):
    inputs = Input(shape=input_shapes["main"], name="main")
    scaled = keras.layers.Lambda(lambda t: t + 0.0)(Scale(0.5)(inputs))  # Lambda: bytecode, loaded only there
    outputs = Dense(n_classes, activation="softmax")(scaled)
    return Model(inputs=inputs, outputs=outputs)
"""
    + COMPILE
)

# A layer that trains and saves but can never be restored: the answer names the reason.
FRAGILE = (
    """
import keras
from keras.layers import Dense, Input
from keras.models import Model


class Fragile(keras.layers.Layer):
    def call(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        raise ValueError("Fragile layers cannot be restored")


def build_model(input_shapes, n_classes=None):
    inputs = Input(shape=input_shapes["main"], name="main")
    return Model(inputs=inputs, outputs=Dense(n_classes, activation="softmax")(Fragile()(inputs)))
"""
    + COMPILE
)


def _expected(runtime: Runtime, tmid: str, rows: list[dict[str, Any]], tmp_path: Path) -> np.ndarray:
    """The probabilities the downloaded model gives ROWS here, with the cell's layer defined by the test."""
    import keras

    from core.sequences import inputs_for
    from server.db import session_scope
    from server.models import TrainedModel
    from server.services import scoring

    class Doubling(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return x * 2

    file = tmp_path / "model.keras"
    file.write_bytes(runtime.api.get(f"/api/v1/trained-models/{tmid}/download").content)
    model = keras.models.load_model(file, compile=False, custom_objects={"Doubling": Doubling})
    with session_scope() as db:
        row = db.get(TrainedModel, tmid)
        assert row is not None
        inputs, _ = scoring.frame_inputs(row, pd.DataFrame(rows), None)
    return np.asarray(model.predict(inputs_for(model, inputs), verbose=0))


def test_custom_objects_are_scored_in_the_sandbox(runtime: Runtime, tmp_path: Path) -> None:
    frame = cancer_frame()
    ds = runtime.dataset("cancer-custom", csv_bytes(frame))
    sessions = {}
    database = repr(str(runtime.home / "fitstudio.db"))
    assert (runtime.home / "fitstudio.db").exists()
    unregistered = UNREGISTERED.replace("API_DATABASE", database)
    for name, code in (("unregistered", unregistered), ("registered", REGISTERED), ("fragile", FRAGILE)):
        task = runtime.task(ds, "diagnosis", patch={"training": {"epochs": 1}, "code": {"architecture": code}})
        sessions[name] = runtime.train(task["id"])
    # three trainings on a worker that runs two at once: the third starts when one of the first two ends
    done = {name: runtime.wait(s["id"], timeout=480) for name, s in sessions.items()}
    for name, final in done.items():
        assert final["status"] == "succeeded", (name, final["error"], runtime.log_tail())
    rows = frame.drop(columns=["diagnosis"]).head(5).to_dict(orient="records")

    tmid = done["unregistered"]["trained_model_id"]
    r = runtime.api.post(f"/api/v1/trained-models/{tmid}/predict", json={"rows": rows})
    assert r.status_code == 200, (r.text, runtime.log_tail())
    body = r.json()
    assert set(body) == {"predictions", "probabilities", "class_labels", "imputed", "unseen"}
    assert len(body["predictions"]) == 5 and set(body["predictions"]) <= set(body["class_labels"])
    assert np.allclose(body["probabilities"], _expected(runtime, tmid, rows, tmp_path), atol=1e-5)

    tmid = done["registered"]["trained_model_id"]
    deployed = runtime.api.post(f"/api/v1/trained-models/{tmid}/deploy", json={"saved_model_name": "scaled"})
    assert deployed.status_code == 201, deployed.text
    saved = deployed.json()
    r = runtime.api.post(f"/api/v1/saved-models/{saved['saved_model_id']}/predict", json={"rows": rows})
    assert r.status_code == 200, (r.text, runtime.log_tail())
    assert r.json()["version_id"] == saved["version_id"] and len(r.json()["probabilities"]) == 5

    tmid = done["fragile"]["trained_model_id"]
    r = runtime.api.post(f"/api/v1/trained-models/{tmid}/predict", json={"rows": rows})
    assert r.status_code == 409 and r.json()["code"] == "model_not_loadable", r.text
    assert "Fragile layers cannot be restored" in r.json()["detail"]

    # The API process ran none of the cells: no cell module, nothing registered by them.
    import keras

    assert not [m for m in sys.modules if m.startswith("fitstudio_cell_")]
    assert keras.saving.get_registered_object("fitstudio_e2e>Scale") is None
    assert not list((runtime.home / "artifacts" / "scoring").glob("*"))
