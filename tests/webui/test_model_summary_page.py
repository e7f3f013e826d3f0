"""The trained model's summary (API, client, page), its heading and metric columns, and the saved model's exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.webui.conftest import Web, location
from tests.webui.support import fake_trained_model

EVALUATION = {"kind": "regression", "n_rows": 2, "actual": [1, 2], "predicted": [1.1, 2.2]}


def _model_file(tmid: str) -> Path:
    from server.services import storage
    from server.settings import get_settings

    return storage.trained_model_dir(get_settings(), "P1", tmid) / "model.keras"


def _store(tmid: str, model: Any) -> None:
    """Replace the fake trained model's file with MODEL, stored as the worker stores one (with its SHA-256)."""
    from server.services import model_files

    path = _model_file(tmid)
    model.save(path)
    model_files.write_checksum(path)


def _frozen_model() -> Any:
    """30 inputs → Dense(8) frozen (as a fine-tune freezes its base) → Dense(2) head."""
    import keras

    inputs = keras.Input((30,), name="main")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")
    outputs = keras.layers.Dense(2, activation="softmax", name="head")(hidden(inputs))
    hidden.trainable = False
    return keras.Model(inputs, outputs)


@pytest.mark.slow
def test_summary_counts_what_keras_counts_and_shows_frozen_layers(web: Web, task: dict[str, Any]) -> None:
    from fitstudio.client import Client
    from server.services import model_summary

    tmid = fake_trained_model(web, task, EVALUATION)
    model = _frozen_model()
    _store(tmid, model)
    r = web.api.get(f"/api/v1/trained-models/{tmid}/summary")
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["params"] == model.count_params() == 30 * 8 + 8 + 8 * 2 + 2
    assert summary["trainable_params"] == 8 * 2 + 2
    by_name = {layer["name"]: layer for layer in summary["layers"]}
    assert list(by_name) == ["main", "hidden", "head"]
    assert by_name["hidden"] == {
        "name": "hidden",
        "type": "Dense",
        "output_shape": [None, 8],
        "params": model.get_layer("hidden").count_params(),
        "trainable": False,
        "inbound": ["main"],
    }
    assert by_name["head"]["trainable"] is True and by_name["head"]["output_shape"] == [None, 2]
    assert by_name["main"]["type"] == "InputLayer" and by_name["main"]["params"] == 0

    loads = model_summary.loads
    with Client("http://testserver", web.api.token, transport=web.api.client._transport) as client:
        assert client.get_trained_model(tmid).get_summary() == summary  # the client, and the cache: no new load
    page = web.get(f"/trained-models/{tmid}").text
    assert model_summary.loads == loads
    row = re.search(r'<tr data-layer="hidden">(.*?)</tr>', page, re.S).group(1)
    assert "Dense" in row and "[None, 8]" in row and '<td class="num">248</td>' in row and "frozen" in row
    assert "trainable" in re.search(r'<tr data-layer="head">(.*?)</tr>', page, re.S).group(1)
    assert "trainable" not in re.search(r'<tr data-layer="main">(.*?)</tr>', page, re.S).group(1)  # no weights
    assert "266 parameters, of which 18 train" in page


@pytest.mark.slow
def test_a_model_that_needs_user_code_is_a_409_and_the_page_says_why(web: Web, task: dict[str, Any]) -> None:
    import keras

    class Doubling(keras.layers.Layer):  # defined in the training's code: the API never has it
        def call(self, x: Any) -> Any:
            return x * 2

    inputs = keras.Input((30,), name="main")
    outputs = keras.layers.Dense(2, activation="softmax")(Doubling(name="doubling")(inputs))
    tmid = fake_trained_model(web, task, EVALUATION)
    _store(tmid, keras.Model(inputs, outputs))
    r = web.api.get(f"/api/v1/trained-models/{tmid}/summary")
    assert r.status_code == 409 and r.json()["code"] == "model_not_loadable", r.text
    assert "Doubling" in r.json()["detail"] and "never runs user code" in r.json()["detail"]
    page = web.get(f"/trained-models/{tmid}")
    assert page.status_code == 200 and 'id="model-summary-missing"' in page.text and "Doubling" in page.text


def test_summary_errors_are_json(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, EVALUATION)  # its file is not a Keras archive
    r = web.api.get(f"/api/v1/trained-models/{tmid}/summary")
    assert r.status_code == 409 and r.json()["code"] == "model_not_loadable"
    _model_file(tmid).write_bytes(b"changed after it was stored")
    r = web.api.get(f"/api/v1/trained-models/{tmid}/summary")
    assert r.status_code == 409 and r.json()["code"] == "model_file_corrupt"
    _model_file(tmid).unlink()
    assert web.api.get(f"/api/v1/trained-models/{tmid}/summary").json()["code"] == "file_missing"
    r = web.api.get("/api/v1/trained-models/P1-nope-s9/summary")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    outsider = web.api.user("outsider")
    assert web.api.get(f"/api/v1/trained-models/{tmid}/summary", token=outsider).status_code == 404


def test_heading_names_the_session_and_val_logs_sit_in_the_validation_column(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, EVALUATION)  # kept epoch: loss 0.4, val_loss 0.45, Test ROC AUC 0.95
    page = web.get(f"/trained-models/{tmid}").text
    heading = re.search(r'<h1 id="model-heading">(.*?)</h1>', page, re.S).group(1)
    assert heading.startswith("Session 1 of Predict diagnosis (binary) — ROC AUC 0.95 ")
    assert f'<span class="muted small mono" id="model-id">{tmid}</span>' in heading
    head = re.search(r'<table id="metrics">\s*<thead>(.*?)</thead>', page, re.S).group(1)
    assert re.findall(r"<th[^>]*>([^<]+)</th>", head) == ["Metric", "Validation", "Train"]
    loss = re.search(r'<tr data-log="loss">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]+)</td>', loss) == ["0.45", "0.4"]  # validation, then train
    assert 'data-log="val_loss"' not in page
    auc = re.search(r"<td>ROC AUC</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]+)</td>', auc) == ["0.95", "0.96"]


def test_keras_log_rows_pair_each_log_with_its_validation_twin() -> None:
    from webui.pages.models import keras_log_rows

    rows = keras_log_rows({"loss": 0.4, "val_loss": 0.5, "learning_rate": 0.001, "val_mae": 2.0})
    assert rows == [
        {"name": "loss", "validation": 0.5, "train": 0.4, "both": False},
        {"name": "learning_rate", "validation": None, "train": 0.001, "both": True},
        {"name": "mae", "validation": 2.0, "train": None, "both": False},
    ]


def test_saved_model_page_links_the_onnx_and_savedmodel_exports(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, EVALUATION)
    url = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "exported", "activate": "1"}))
    saved_id = int(re.match(r"/saved-models/(\d+)", url).group(1))
    assert location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_id": str(saved_id), "version_id": "v2.b"}))
    page = web.get(f"/saved-models/{saved_id}").text
    links = re.findall(r'<a class="button" data-export="(\w+)" href="([^"]+)" download>([^<]+)</a>', page)
    assert [(fmt, label) for fmt, _, label in links] == [
        ("onnx", "Export v2.b as ONNX"),  # newest version first, as the versions table
        ("savedmodel", "Export v2.b as SavedModel (zip)"),
        ("onnx", "Export v1 as ONNX"),
        ("savedmodel", "Export v1 as SavedModel (zip)"),
    ]
    hrefs = [href.replace("&amp;", "&") for _, href, _ in links]
    assert hrefs[1] == f"/api/v1/saved-models/{saved_id}/export?format=savedmodel&version=v2.b"
    assert hrefs[2] == f"/api/v1/saved-models/{saved_id}/export?format=onnx&version=v1"
    # Each link reaches the export route for that version (the dummy file is refused there, never a 404 or a 500).
    for href in hrefs:
        r = web.client.get(href)
        assert r.status_code not in (404, 500) and r.headers["content-type"].startswith("application/json"), href
