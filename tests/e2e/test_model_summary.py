"""The summary of really trained models: a layer a build_model froze, and a custom layer the API cannot load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Runtime, csv_bytes
from tests.e2e.test_models import cancer_frame

pytestmark = pytest.mark.slow

COMPILE = """

def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""

FROZEN = (
    """
from keras.layers import Dense, Input
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    inputs = Input(shape=input_shapes["main"], name="main")
    hidden = Dense(8, activation="relu", name="hidden")
    hidden.trainable = False
    outputs = Dense(n_classes, activation="softmax", name="head")(hidden(inputs))
    return Model(inputs=inputs, outputs=outputs)
"""
    + COMPILE
)

CUSTOM = (
    """
import keras
from keras.layers import Dense, Input
from keras.models import Model


class Doubling(keras.layers.Layer):
    def call(self, x):
        return x * 2


def build_model(input_shapes, n_classes=None):
    inputs = Input(shape=input_shapes["main"], name="main")
    outputs = Dense(n_classes, activation="softmax", name="head")(Doubling(name="doubling")(inputs))
    return Model(inputs=inputs, outputs=outputs)
"""
    + COMPILE
)


def test_summary_of_trained_models(runtime: Runtime, tmp_path: Path) -> None:
    import keras

    ds = runtime.dataset("cancer-summary", csv_bytes(cancer_frame()))
    sessions: dict[str, Any] = {}
    for name, code in (("frozen", FROZEN), ("custom", CUSTOM)):
        task = runtime.task(ds, "diagnosis", patch={"training": {"epochs": 1}, "code": {"architecture": code}})
        sessions[name] = runtime.train(task["id"])
    done = {name: runtime.wait(s["id"]) for name, s in sessions.items()}
    for name, final in done.items():
        assert final["status"] == "succeeded", (name, final["error"], runtime.log_tail())

    tmid = done["frozen"]["trained_model_id"]
    r = runtime.api.get(f"/api/v1/trained-models/{tmid}/summary")
    assert r.status_code == 200, r.text
    summary = r.json()
    downloaded = tmp_path / "model.keras"
    downloaded.write_bytes(runtime.api.get(f"/api/v1/trained-models/{tmid}/download").content)
    model = keras.models.load_model(downloaded, compile=False)
    assert summary["params"] == model.count_params()
    assert summary["trainable_params"] == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert [(layer["name"], layer["params"], layer["trainable"]) for layer in summary["layers"]] == [
        (layer.name, layer.count_params(), layer.trainable) for layer in model.layers
    ]
    hidden = next(layer for layer in summary["layers"] if layer["name"] == "hidden")
    assert hidden["trainable"] is False and hidden["output_shape"] == [None, 8]

    r = runtime.api.get(f"/api/v1/trained-models/{done['custom']['trained_model_id']}/summary")
    assert r.status_code == 409 and r.json()["code"] == "model_not_loadable", r.text
    assert "Doubling" in r.json()["detail"]
