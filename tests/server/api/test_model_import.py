"""POST /projects/{key}/saved-models/import (data.md "Import a model", api.md): a model trained elsewhere becomes
version v1 of a new saved model, downloadable and located like any other; what cannot load safely is a 422 naming
the reason, never a 500. Tests marked slow check real Keras files (a child Python process loads each)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from server.services import model_files
from tests.server.api.support import API, expect, expect_error


def _import(api: Any, key: str, name: str, payload: bytes, filename: str, token: str | None = None) -> Any:
    return api.client.post(
        f"{API}/projects/{key}/saved-models/import",
        headers=api.headers(token),
        data={"name": name},
        files={"file": (filename, io.BytesIO(payload), "application/octet-stream")},
    )


def _two_input_model() -> Any:
    import keras

    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    x = keras.layers.Dense(4, activation="relu", name="hidden")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], keras.layers.Dense(1, name="out")(x))
    model.compile(optimizer="adam", loss="mse")
    return model


def _saved_bytes(model: Any, tmp_path: Path, name: str) -> bytes:
    path = tmp_path / name
    model.save(path)
    return path.read_bytes()


@pytest.mark.slow
def test_a_keras_file_becomes_a_downloadable_saved_model(api: Any, project: str, tmp_path: Path) -> None:
    payload = _saved_bytes(_two_input_model(), tmp_path, "m.keras")
    saved = expect(_import(api, project, "elsewhere", payload, "m.keras"), 201)
    assert saved["name"] == "elsewhere" and saved["project_key"] == project and saved["active_version"] == "v1"
    (version,) = saved["versions"]
    assert version["id"] == "v1" and version["active"] and version["source"] == "imported"
    assert version["trained_model_id"] is None
    meta = version["imported"]
    assert meta["input_shapes"] == {"a": [3], "b": [2]} and meta["output_shapes"] == [[1]]
    assert meta["filename"] == "m.keras" and meta["format"] == "keras"
    assert meta["sha256"] == hashlib.sha256(payload).hexdigest()
    assert expect(api.get(f"{API}/saved-models/{saved['id']}"), 200)["versions"] == saved["versions"]
    assert saved["id"] in [s["id"] for s in expect(api.get(f"{API}/projects/{project}/saved-models"), 200)]

    r = api.get(f"{API}/saved-models/{saved['id']}/download")
    assert r.status_code == 200 and r.content == payload  # a .keras is stored as it came
    location = expect(api.get(f"{API}/saved-models/{saved['id']}/location"), 200)
    path = Path(location["location"])
    assert path.is_file() and path.read_bytes() == payload and location["version_id"] == "v1"
    assert model_files.read_checksum(path) == hashlib.sha256(payload).hexdigest()  # the SHA-256 sidecar
    assert expect(api.get(f"{API}/saved-models/{saved['id']}/versions/v1/location"), 200)["location"] == str(path)

    # No preprocessing: it cannot be scored (409, the spec's answer), only loaded, downloaded and exported.
    body = expect_error(
        api.post(f"{API}/saved-models/{saved['id']}/predict", json={"rows": [{"x": 1}]}), 409, "model_not_scorable"
    )
    assert "get_keras_model_from_saved_model" in body["detail"]
    # The name is the saved model's: a second import under it is a conflict, and nothing of it is kept.
    expect_error(_import(api, project, "elsewhere", payload, "m.keras"), 409, "saved_model_exists")
    assert len(expect(api.get(f"{API}/projects/{project}/saved-models"), 200)) == 1


@pytest.mark.slow
def test_a_legacy_h5_file_is_stored_as_keras(api: Any, project: str, tmp_path: Path) -> None:
    import keras
    import numpy as np

    model = _two_input_model()
    saved = expect(_import(api, project, "old", _saved_bytes(model, tmp_path, "m.h5"), "m.h5"), 201)
    assert saved["versions"][0]["imported"]["format"] == "h5"
    download = tmp_path / "back.keras"
    download.write_bytes(api.get(f"{API}/saved-models/{saved['id']}/download").content)
    assert zipfile.is_zipfile(download)
    loaded = keras.models.load_model(download)  # as get_keras_model_from_saved_model does
    x = [np.ones((2, 3), "float32"), np.ones((2, 2), "float32")]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


@pytest.mark.slow
def test_code_in_the_file_is_refused_with_the_reason(api: Any, project: str, tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((3,), name="main")
    lam = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Lambda(lambda t: t * 2)(inputs)))
    body = expect_error(_import(api, project, "lam", _saved_bytes(lam, tmp_path, "l.keras"), "l.keras"), 422)
    assert body["code"] == "invalid_model" and "Lambda" in body["detail"], body

    @keras.saving.register_keras_serializable(package="elsewhere")
    class Shift(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return x + 1

    custom = keras.Model(inputs, keras.layers.Dense(1)(Shift()(inputs)))
    payload = _saved_bytes(custom, tmp_path, "c.keras")
    body = expect_error(_import(api, project, "custom", payload, "c.keras"), 422, "invalid_model")
    assert "custom" in body["detail"], body
    assert expect(api.get(f"{API}/projects/{project}/saved-models"), 200) == []


@pytest.mark.slow
def test_a_custom_loss_is_dropped_and_said(api: Any, project: str, tmp_path: Path) -> None:
    import keras

    def elsewhere_loss(y_true: Any, y_pred: Any) -> Any:
        return keras.ops.mean(keras.ops.abs(y_true - y_pred))

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss=elsewhere_loss)
    saved = expect(_import(api, project, "loss", _saved_bytes(model, tmp_path, "l.keras"), "l.keras"), 201)
    (note,) = saved["versions"][0]["imported"]["notes"]
    assert "compile_model" in note and "elsewhere_loss" in note
    back = tmp_path / "back.keras"
    back.write_bytes(api.get(f"{API}/saved-models/{saved['id']}/download").content)
    keras.models.load_model(back)  # compiled load works: the configuration that could not load is gone


def test_garbage_is_refused_and_nothing_is_kept(api: Any, project: str, sqlite_settings: Any) -> None:
    body = expect_error(_import(api, project, "g", b"\x00garbage" * 100, "g.keras"), 422, "invalid_model")
    assert body["errors"][0]["field"] == "file"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    expect_error(_import(api, project, "z", buf.getvalue(), "z.keras"), 422, "invalid_model")
    expect_error(_import(api, project, "h", b"not hdf5 at all", "h.h5"), 422, "invalid_model")
    expect_error(_import(api, project, "t", b"x", "model.pkl"), 415, "unsupported_file")
    expect_error(_import(api, project, "", b"x", "m.keras"), 422)
    assert expect(api.get(f"{API}/projects/{project}/saved-models"), 200) == []
    assert not list((sqlite_settings.data_root / "uploads").glob(".upload-*"))  # the received files are gone


def test_a_zip_bomb_is_refused_before_keras_reads_it(api: Any, project: str, monkeypatch: Any) -> None:
    from server.settings import get_settings

    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\x00" * (5 << 20))
    assert len(buf.getvalue()) < 1 << 20
    expect_error(_import(api, project, "bomb", buf.getvalue(), "b.keras"), 413, "too_large")


def test_oversize_is_413(api: Any, project: str, monkeypatch: Any) -> None:
    from server.settings import get_settings

    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)
    expect_error(_import(api, project, "big", b"x" * ((1 << 20) + 100_000), "big.keras"), 413, "too_large")


def test_readers_cannot_import(api: Any, project: str) -> None:
    reader = api.user("rita", project, "reader")
    expect_error(_import(api, project, "r", b"x", "m.keras", token=reader), 403)
    expect_error(_import(api, "NOPE", "r", b"x", "m.keras"), 404)
