"""Models with custom objects: exported by a worker that runs their code cells, and loaded by the helpers in cells.

Issue 15: a model with a custom layer or a Lambda used to be 409 at …/export, and the load helpers passed nothing
to keras.models.load_model. Here a real worker exports such a model in its sandbox, and a later training loads it
with get_keras_model_from_trained_model(..., custom_objects=..., safe_mode=False) and trains on top of it.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from tests.e2e.conftest import Runtime, csv_bytes
from tests.e2e.test_custom_objects_scoring import FRAGILE
from tests.e2e.test_model_summary import COMPILE
from tests.e2e.test_models import cancer_frame

pytestmark = pytest.mark.slow

# An undecorated custom layer and a Lambda: the API's safe load refuses both.
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
    shifted = keras.layers.Lambda(lambda t: t + 0.5, name="shift")(Doubling(name="doubling")(inputs))
    hidden = Dense(8, activation="relu", name="hidden")(shifted)
    return Model(inputs=inputs, outputs=Dense(n_classes, activation="softmax", name="head")(hidden))
"""
    + COMPILE
)

# The loading cell defines the layer again and says how to load the rest (the docs' recipe for unregistered objects).
ON_TOP = (
    """
import keras
from dataiku.doctor.deep_learning.load_model import get_keras_model_from_trained_model
from keras.layers import Dense
from keras.models import Model


class Doubling(keras.layers.Layer):
    def call(self, x):
        return x * 2


def build_model(input_shapes, n_classes=None):
    base = get_keras_model_from_trained_model(
        session_id="s{number}", mltask_id="{mltask}", custom_objects={{"Doubling": Doubling}}, safe_mode=False
    )
    for layer in base.layers:
        layer.trainable = False
    features = base.get_layer("hidden").output
    return Model(inputs=base.inputs, outputs=Dense(n_classes, activation="softmax", name="new_head")(features))
"""
    + COMPILE
)


class Doubling(keras.layers.Layer):
    """The cells' layer, defined by the test to read the downloaded files (never registered)."""

    def call(self, x: Any) -> Any:
        return x * 2


@pytest.fixture(scope="module")
def trained(runtime: Runtime) -> dict[str, Any]:
    """Two trainings at once on the cancer data: the custom model (deployed) and one that can never be restored."""
    ds = runtime.dataset("cancer-export", csv_bytes(cancer_frame()))
    tasks, sessions = {}, {}
    for name, code in (("custom", CUSTOM), ("fragile", FRAGILE)):
        tasks[name] = runtime.task(ds, "diagnosis", patch={"training": {"epochs": 1}, "code": {"architecture": code}})
        sessions[name] = runtime.train(tasks[name]["id"])
    done = {name: runtime.wait(s["id"], timeout=480) for name, s in sessions.items()}
    out: dict[str, Any] = {"dataset": ds}
    for name, final in done.items():
        assert final["status"] == "succeeded", (name, final["error"], runtime.log_tail())
        tmid = final["trained_model_id"]
        r = runtime.api.post(f"/api/v1/trained-models/{tmid}/deploy", json={"saved_model_name": f"export-{name}"})
        assert r.status_code == 201, r.text
        out[name] = {"tmid": tmid, "task": tasks[name], "saved_id": r.json()["saved_model_id"]}
    return out


def _keras_model(runtime: Runtime, saved_id: int, tmp_path: Path) -> Any:
    file = tmp_path / "model.keras"
    file.write_bytes(runtime.api.get(f"/api/v1/saved-models/{saved_id}/download").content)
    return keras.models.load_model(file, compile=False, safe_mode=False, custom_objects={"Doubling": Doubling})


def test_a_custom_model_is_exported_by_the_worker(runtime: Runtime, trained: dict[str, Any], tmp_path: Path) -> None:
    import onnxruntime as ort
    import tensorflow as tf

    saved_id = trained["custom"]["saved_id"]
    url = f"/api/v1/saved-models/{saved_id}/export"
    r = runtime.api.get(url, params={"format": "savedmodel"})
    assert r.status_code == 200, (r.text, runtime.log_tail())
    assert r.headers["content-type"] == "application/zip"
    (tmp_path / "sm.zip").write_bytes(r.content)
    with zipfile.ZipFile(tmp_path / "sm.zip") as archive:
        assert "saved_model.pb" in archive.namelist()
        archive.extractall(tmp_path / "sm")
    x = np.random.default_rng(15).normal(size=(8, 30)).astype("float32")
    want = _keras_model(runtime, saved_id, tmp_path).predict(x, verbose=0)
    reloaded: Any = tf.saved_model.load(str(tmp_path / "sm"))  # held: its variables live as long as it does
    np.testing.assert_allclose(np.asarray(reloaded.serve(x)), want, rtol=1e-4, atol=1e-5)

    r = runtime.api.get(url, params={"format": "onnx"})
    assert r.status_code == 200, (r.text, runtime.log_tail())
    (tmp_path / "m.onnx").write_bytes(r.content)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # Made once: the second request is the cached file (no worker involved), and the exchange folder is empty.
    assert runtime.api.get(url, params={"format": "onnx"}).content == r.content
    assert not list((runtime.home / "artifacts" / "scoring").glob("*"))
    assert not [m for m in sys.modules if m.startswith("fitstudio_cell_")]  # the API process ran no cell


def test_an_export_that_cannot_load_is_409_naming_the_reason(runtime: Runtime, trained: dict[str, Any]) -> None:
    r = runtime.api.get(f"/api/v1/saved-models/{trained['fragile']['saved_id']}/export", params={"format": "onnx"})
    assert r.status_code == 409 and r.json()["code"] == "model_not_loadable", r.text
    assert "Fragile layers cannot be restored" in r.json()["detail"]


def test_a_cell_loads_a_custom_model_with_the_helper_and_trains_on_top(
    runtime: Runtime, trained: dict[str, Any], tmp_path: Path
) -> None:
    base = trained["custom"]
    number = int(base["tmid"].rsplit("-s", 1)[1].split("-")[0])
    cell = ON_TOP.format(number=number, mltask=base["task"]["id"])
    task = runtime.task(
        trained["dataset"], "diagnosis", patch={"training": {"epochs": 1}, "code": {"architecture": cell}}
    )
    final = runtime.train_and_wait(task["id"], timeout=480)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert base["tmid"] in str(details["lineage"]) and len(details["lineage"]) == 1
    on_top = keras.models.load_model(
        details["location"], compile=False, safe_mode=False, custom_objects={"Doubling": Doubling}
    )
    before = _keras_model(runtime, base["saved_id"], tmp_path).get_layer("hidden").get_weights()
    for was, now in zip(before, on_top.get_layer("hidden").get_weights(), strict=True):
        np.testing.assert_array_equal(was, now)  # the loaded layers were frozen, the new head trained
    assert "new_head" in [layer.name for layer in on_top.layers]
