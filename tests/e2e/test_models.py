"""Models for reuse: deploy and versions, fine-tuning from a saved model, scoring parity, ONNX, permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import Runtime, csv_bytes

pytestmark = pytest.mark.slow

FINE_TUNE = """
from dataiku.doctor.deep_learning.load_model import get_keras_model_from_saved_model
from keras.layers import Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    base = get_keras_model_from_saved_model({saved_id})
    for layer in base.layers:
        layer.trainable = False
    features = base.layers[-2].output
    predictions = Dense(n_classes, activation="softmax", name="new_head")(features)
    return Model(inputs=base.inputs, outputs=predictions)


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


def cancer_frame() -> pd.DataFrame:
    import io

    from server.services.bootstrap import demo_bytes

    return pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue()))


@pytest.fixture(scope="module")
def model_a(runtime: Runtime) -> dict[str, Any]:
    """Model A: breast cancer, binary, deployed as saved model 'cancer' v1."""
    ds = runtime.dataset("cancer", csv_bytes(cancer_frame()))
    task = runtime.task(ds, "diagnosis", patch={"training": {"epochs": 3}})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    tmid = final["trained_model_id"]
    r = runtime.api.post(f"/api/v1/trained-models/{tmid}/deploy", json={"saved_model_name": "cancer"})
    assert r.status_code == 201, r.text
    assert r.json()["version_id"] == "v1"
    return {"dataset": ds, "task": task, "tmid": tmid, "saved_id": r.json()["saved_model_id"]}


def _layers(model: Any) -> dict[str, list[np.ndarray]]:
    return {layer.name: layer.get_weights() for layer in model.layers}


def test_fine_tuning_from_a_saved_model(runtime: Runtime, model_a: dict[str, Any], tmp_path: Path) -> None:
    import keras

    frame = cancer_frame()
    frame["size"] = pd.cut(frame["mean radius"], 3, labels=["small", "medium", "large"]).astype(str)
    ds = runtime.dataset("cancer_sizes", csv_bytes(frame))
    task = runtime.task(ds, "size", patch={"training": {"epochs": 2}})
    assert task["prediction_type"] == "multiclass"
    features = task["settings"]["features"]
    features["diagnosis"]["role"] = "reject"
    code = dict(task["settings"]["code"], architecture=FINE_TUNE.format(saved_id=model_a["saved_id"]))
    r = runtime.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json={"features": features, "code": code})
    assert r.status_code == 200, r.text
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["lineage"] == [
        {"kind": "saved_model", "id": model_a["saved_id"], "version_id": "v1", "trained_model_id": model_a["tmid"]}
    ]
    assert details["n_classes"] == 3
    a_file = runtime.api.get(f"/api/v1/saved-models/{model_a['saved_id']}/download")
    (tmp_path / "a.keras").write_bytes(a_file.content)
    a = _layers(keras.models.load_model(tmp_path / "a.keras"))
    b_model = keras.models.load_model(details["location"])
    b = _layers(b_model)
    assert b_model.output_shape == (None, 3)
    frozen = [name for name in a if name in b and a[name]]
    assert len(frozen) >= 2, (list(a), list(b))
    for name in frozen:
        for wa, wb in zip(a[name], b[name], strict=True):
            np.testing.assert_array_equal(wa, wb, err_msg=f"frozen layer {name} changed")


def test_predictions_match_keras_on_the_downloaded_file(
    runtime: Runtime, model_a: dict[str, Any], tmp_path: Path
) -> None:
    import keras

    from core import preprocessing
    from core.sequences import as_model_input
    from server.db import session_scope
    from server.models import TrainedModel

    rows = cancer_frame().drop(columns=["diagnosis"]).head(7).to_dict(orient="records")
    r = runtime.api.post(f"/api/v1/trained-models/{model_a['tmid']}/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["class_labels"] == ["benign", "malignant"]
    assert set(body["predictions"]) <= {"benign", "malignant"}
    (tmp_path / "m.keras").write_bytes(runtime.api.get(f"/api/v1/trained-models/{model_a['tmid']}/download").content)
    with session_scope() as db:
        prep = db.get(TrainedModel, model_a["tmid"]).preprocessing
    inputs = {k: as_model_input(v) for k, v in preprocessing.transform(pd.DataFrame(rows), prep).items()}
    expected = keras.models.load_model(tmp_path / "m.keras").predict(inputs, verbose=0)
    np.testing.assert_allclose(np.array(body["probabilities"]), expected, rtol=1e-5, atol=1e-6)
    assert body["predictions"] == [body["class_labels"][i] for i in expected.argmax(axis=1)]
    # A missing column is the client's mistake, named.
    r = runtime.api.post(f"/api/v1/trained-models/{model_a['tmid']}/predict", json={"rows": [{"mean radius": 10.0}]})
    assert r.status_code == 422 and r.json()["code"] == "missing_columns"
    assert "mean texture" in r.json()["detail"]


def test_scoring_caches_the_loaded_model(runtime: Runtime, model_a: dict[str, Any]) -> None:
    from server.services import scoring

    rows = cancer_frame().drop(columns=["diagnosis"]).head(2).to_dict(orient="records")
    runtime.api.post(f"/api/v1/trained-models/{model_a['tmid']}/predict", json={"rows": rows})
    before = scoring.loads
    for _ in range(3):
        assert (
            runtime.api.post(f"/api/v1/trained-models/{model_a['tmid']}/predict", json={"rows": rows}).status_code
            == 200
        )
    assert scoring.loads == before


def test_versions_switch_location_and_predict(runtime: Runtime, model_a: dict[str, Any]) -> None:
    saved_id = model_a["saved_id"]
    # Another seed, so that v2 is a different model (the same seed repeats the training: docs/decisions.md).
    edit = {"training": {"seed": 4242}}
    assert runtime.api.put(f"/api/v1/ml-tasks/{model_a['task']['id']}/settings", json=edit).status_code == 200
    final = runtime.train_and_wait(model_a["task"]["id"])
    assert final["status"] == "succeeded"
    r = runtime.api.post(
        f"/api/v1/trained-models/{final['trained_model_id']}/deploy", json={"saved_model_id": saved_id}
    )
    assert r.status_code == 201 and r.json()["version_id"] == "v2"
    summary = runtime.api.get(f"/api/v1/saved-models/{saved_id}").json()
    assert summary["active_version"] == "v2"
    assert [v["active"] for v in summary["versions"]] == [False, True]
    loc2 = runtime.api.get(f"/api/v1/saved-models/{saved_id}/location").json()
    assert loc2["version_id"] == "v2" and Path(loc2["location"]).is_file()
    rows = cancer_frame().drop(columns=["diagnosis"]).head(3).to_dict(orient="records")
    p2 = runtime.api.post(f"/api/v1/saved-models/{saved_id}/predict", json={"rows": rows}).json()
    assert p2["version_id"] == "v2"
    # Revert: v1 becomes active again; location and predictions follow.
    assert (
        runtime.api.post(f"/api/v1/saved-models/{saved_id}/active-version", json={"version_id": "v1"}).status_code
        == 200
    )
    loc1 = runtime.api.get(f"/api/v1/saved-models/{saved_id}/location").json()
    assert loc1["version_id"] == "v1" and loc1["location"] != loc2["location"]
    assert loc1 == runtime.api.get(f"/api/v1/saved-models/{saved_id}/versions/v1/location").json()
    p1 = runtime.api.post(f"/api/v1/saved-models/{saved_id}/predict", json={"rows": rows}).json()
    direct = runtime.api.post(f"/api/v1/trained-models/{model_a['tmid']}/predict", json={"rows": rows}).json()
    assert p1["version_id"] == "v1" and p1["probabilities"] == direct["probabilities"]
    assert p1["probabilities"] != p2["probabilities"]
    # Versions are immutable; the active one cannot be deleted; an unknown one is 404.
    dup = runtime.api.post(
        f"/api/v1/trained-models/{final['trained_model_id']}/deploy",
        json={"saved_model_id": saved_id, "version_id": "v2"},
    )
    assert dup.status_code == 409
    assert runtime.api.delete(f"/api/v1/saved-models/{saved_id}/versions/v1").status_code == 409
    assert (
        runtime.api.post(f"/api/v1/saved-models/{saved_id}/active-version", json={"version_id": "v9"}).status_code
        == 404
    )


def test_onnx_and_savedmodel_export(runtime: Runtime, model_a: dict[str, Any], tmp_path: Path) -> None:
    import zipfile

    import keras
    import onnxruntime as ort

    saved_id = model_a["saved_id"]
    r = runtime.api.get(f"/api/v1/saved-models/{saved_id}/export", params={"format": "onnx", "version": "v1"})
    assert r.status_code == 200, r.text
    (tmp_path / "m.onnx").write_bytes(r.content)
    (tmp_path / "m.keras").write_bytes(
        runtime.api.get(f"/api/v1/saved-models/{saved_id}/download", params={"version": "v1"}).content
    )
    x = np.random.default_rng(0).normal(size=(16, 30)).astype("float32")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = keras.models.load_model(tmp_path / "m.keras").predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    r = runtime.api.get(f"/api/v1/saved-models/{saved_id}/export", params={"format": "savedmodel"})
    assert r.status_code == 200
    (tmp_path / "sm.zip").write_bytes(r.content)
    assert "saved_model.pb" in zipfile.ZipFile(tmp_path / "sm.zip").namelist()
    assert runtime.api.get(f"/api/v1/saved-models/{saved_id}/export", params={"format": "pmml"}).status_code == 400


LOAD_EVERY_WAY = """
from dataiku.doctor.deep_learning import load_model as lm
from keras.layers import Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    loaded = [
        lm.get_keras_model_from_trained_model(session_id="s{number}", mltask_id="{mltask}"),
        lm.get_keras_model_from_trained_model(analysis_id="{analysis}", mltask_id="{mltask}"),
        lm.get_keras_model_from_saved_model({saved_id}),
        lm.get_keras_model_from_saved_model("{saved_name}"),
        lm.get_keras_model_from_saved_model({saved_id}, version_id="v1"),
    ]
    print("LOADED", len(loaded), flush=True)
    base = loaded[-1]
    features = base.layers[-2].output
    return Model(inputs=base.inputs, outputs=Dense(n_classes, activation="softmax", name="head")(features))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


def test_load_helpers_answer_for_any_ids(runtime: Runtime, model_a: dict[str, Any]) -> None:
    """Trained models by session and by ML task, saved models by id, name and version, in one cell: the worker's
    request ids (1 to 5 here) never coincide with the models' own ids (a saved model id above 5, string ids)."""
    tmid = model_a["tmid"]
    saved_id, saved_name = model_a["saved_id"], "cancer"
    copies = []
    while saved_id <= 5:
        r = runtime.api.post(f"/api/v1/trained-models/{tmid}/deploy", json={"saved_model_name": f"copy-{saved_id}"})
        assert r.status_code == 201, r.text
        saved_id, saved_name = r.json()["saved_model_id"], f"copy-{saved_id}"
        copies.append(saved_id)
    trained = runtime.api.get(f"/api/v1/trained-models/{tmid}").json()
    task = model_a["task"]
    number = int(tmid.rsplit("-s", 1)[1].split("-")[0])
    cell = LOAD_EVERY_WAY.format(
        number=number, mltask=task["id"], analysis=trained["analysis_id"], saved_id=saved_id, saved_name=saved_name
    )
    task2 = runtime.task(model_a["dataset"], "diagnosis", patch={"training": {"epochs": 1}})
    code = dict(task2["settings"]["code"], architecture=cell)
    assert (
        runtime.api.put(f"/api/v1/ml-tasks/{task2['id']}/settings", json=dict(task2["settings"], code=code)).status_code
        == 200
    )
    final = runtime.train_and_wait(task2["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert "LOADED 5" in runtime.api.get(f"/api/v1/sessions/{final['id']}/log").text
    for copy in copies:  # model A stays deployed only as 'cancer', as the tests after this one expect
        assert runtime.api.delete(f"/api/v1/saved-models/{copy}").status_code == 204


def test_code_cell_cannot_load_a_model_of_an_unreadable_project(runtime: Runtime, model_a: dict[str, Any]) -> None:
    api = runtime.api
    outsider = api.user("outsider")
    assert api.post("/api/v1/projects", token=outsider, json={"key": "OUTSIDE"}).status_code == 201
    up = api.upload_csv("OUTSIDE", "cancer", csv_bytes(cancer_frame()), token=outsider)
    assert up.status_code == 201
    analysis = api.post("/api/v1/projects/OUTSIDE/analyses", token=outsider, json={"dataset_id": up.json()["id"]})
    task = api.post(
        f"/api/v1/analyses/{analysis.json()['id']}/ml-tasks", token=outsider, json={"target": "diagnosis"}
    ).json()
    code = dict(task["settings"]["code"], architecture=FINE_TUNE.format(saved_id=model_a["saved_id"]))
    settings = dict(task["settings"], code=code, gpu={"use_gpu": False, "gpu_list": [0], "allow_growth": True})
    assert api.put(f"/api/v1/ml-tasks/{task['id']}/settings", token=outsider, json=settings).status_code == 200
    session = api.post(f"/api/v1/ml-tasks/{task['id']}/train", token=outsider, json={}).json()
    final = runtime.wait(session["id"], token=outsider)
    assert final["status"] == "failed"
    assert final["error"]["cell"] == "architecture" and final["error"]["type"] == "ModelAccessError"
    assert "cannot read it" in final["error"]["message"]
    leaked = str(final["error"]) + api.get(f"/api/v1/sessions/{session['id']}/log", token=outsider).text
    assert str(runtime.home) not in leaked and "artifacts" not in leaked


def test_deletion_removes_files_and_protects_what_is_in_use(runtime: Runtime, model_a: dict[str, Any]) -> None:
    api = runtime.api
    saved_id = model_a["saved_id"]
    # A deployed trained model cannot be deleted.
    assert api.delete(f"/api/v1/trained-models/{model_a['tmid']}").status_code == 409
    # A trained model that is not deployed can; its file goes with it.
    final = runtime.train_and_wait(model_a["task"]["id"])
    tm_path = Path(api.get(f"/api/v1/trained-models/{final['trained_model_id']}/location").json()["location"])
    assert tm_path.is_file()
    assert api.delete(f"/api/v1/trained-models/{final['trained_model_id']}").status_code == 204
    assert not tm_path.exists()
    assert api.get(f"/api/v1/trained-models/{final['trained_model_id']}").status_code == 404
    # A version that is not active can be deleted, with its file.
    summary = api.get(f"/api/v1/saved-models/{saved_id}").json()
    inactive = [v["id"] for v in summary["versions"] if not v["active"]]
    assert inactive
    vpath = Path(api.get(f"/api/v1/saved-models/{saved_id}/versions/{inactive[0]}/location").json()["location"])
    assert api.delete(f"/api/v1/saved-models/{saved_id}/versions/{inactive[0]}").status_code == 204
    assert not vpath.exists()
    # The saved model, then its trained model, then the whole project.
    active_path = Path(api.get(f"/api/v1/saved-models/{saved_id}/location").json()["location"])
    assert api.delete(f"/api/v1/saved-models/{saved_id}").status_code == 204
    assert not active_path.exists() and api.get(f"/api/v1/saved-models/{saved_id}").status_code == 404
    a_path = Path(api.get(f"/api/v1/trained-models/{model_a['tmid']}/location").json()["location"])
    assert api.delete(f"/api/v1/trained-models/{model_a['tmid']}").status_code == 204
    assert not a_path.exists()
