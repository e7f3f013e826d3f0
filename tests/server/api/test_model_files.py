"""Model files are verified: a SHA-256 sidecar is written with each stored model and checked before every use."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from server.services import model_files
from tests.security.support import SMALL_CSV, fabricate_trained_model
from tests.server.api.support import API, expect, expect_error, upload

ROWS = {"rows": [{"x": 1, "y": 1.5}, {"x": 2, "y": 2.0}]}


@pytest.fixture
def model(api: Any, project: str) -> dict[str, Any]:
    """A trained model (a real, untrained Keras file stored by the worker's code) of a task predicting 'label'."""
    ds = expect(upload(api, project, "small", SMALL_CSV, "small.csv"), 201)
    an = expect(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": ds["id"], "name": "an"}), 201)
    mt = expect(api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "label"}), 201)
    tmid = fabricate_trained_model(api, mt["id"])
    path = Path(expect(api.get(f"{API}/trained-models/{tmid}/location"), 200)["location"])
    return {"id": tmid, "path": path}


def _deploy(api: Any, tmid: str, name: str = "sm") -> dict[str, Any]:
    return expect(api.post(f"{API}/trained-models/{tmid}/deploy", json={"saved_model_name": name}), 201)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garble(path: Path) -> None:
    path.write_bytes(b"\x00garbage" * (path.stat().st_size // 8 + 1))


def test_write_checksum_stores_the_sha256_beside_the_file(tmp_path: Path) -> None:
    f = tmp_path / "model.keras"
    f.write_bytes(b"some bytes" * 1000)
    digest = model_files.write_checksum(f)
    assert digest == hashlib.sha256(f.read_bytes()).hexdigest()
    assert (tmp_path / "model.keras.sha256").read_text().split()[0] == digest
    assert model_files.read_checksum(f) == digest
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_model_without_a_sidecar_gets_one_on_its_first_verified_read(api: Any, model: dict[str, Any]) -> None:
    sidecar = model_files.checksum_path(model["path"])
    sidecar.unlink(missing_ok=True)
    out = expect(api.post(f"{API}/trained-models/{model['id']}/predict", json=ROWS), 200)
    assert len(out["predictions"]) == 2
    assert model_files.read_checksum(model["path"]) == hashlib.sha256(model["path"].read_bytes()).hexdigest()
    r = api.get(f"{API}/trained-models/{model['id']}/download")
    assert r.status_code == 200 and r.content == model["path"].read_bytes()


@pytest.mark.parametrize("damage", [_truncate, _garble], ids=["truncated", "garbage"])
def test_a_damaged_trained_model_is_409_and_never_deployed(api: Any, model: dict[str, Any], damage: Any) -> None:
    model_files.write_checksum(model["path"])
    damage(model["path"])
    tmid = model["id"]
    expect_error(api.post(f"{API}/trained-models/{tmid}/predict", json=ROWS), 409, "model_file_corrupt")
    expect_error(api.get(f"{API}/trained-models/{tmid}/download"), 409, "model_file_corrupt")
    r = api.post(f"{API}/trained-models/{tmid}/deploy", json={"saved_model_name": "never"})
    expect_error(r, 409, "model_file_corrupt")
    assert expect(api.get(f"{API}/projects/DEMO/saved-models"), 200) == []


def test_a_legacy_file_without_sidecar_that_is_not_a_keras_archive_is_409(api: Any, model: dict[str, Any]) -> None:
    model_files.checksum_path(model["path"]).unlink(missing_ok=True)
    _truncate(model["path"])
    expect_error(api.post(f"{API}/trained-models/{model['id']}/predict", json=ROWS), 409, "model_file_corrupt")
    assert not model_files.checksum_path(model["path"]).exists()


def test_a_missing_trained_model_file_is_404(api: Any, model: dict[str, Any]) -> None:
    model["path"].unlink()
    tmid = model["id"]
    expect_error(api.post(f"{API}/trained-models/{tmid}/predict", json=ROWS), 404, "file_missing")
    expect_error(api.get(f"{API}/trained-models/{tmid}/download"), 404, "file_missing")
    expect_error(api.post(f"{API}/trained-models/{tmid}/deploy", json={"saved_model_name": "x"}), 404, "file_missing")
    assert expect(api.get(f"{API}/projects/DEMO/saved-models"), 200) == []


def test_a_deployed_version_has_its_own_sidecar_and_is_checked(api: Any, model: dict[str, Any]) -> None:
    deployed = _deploy(api, model["id"])
    sid = deployed["saved_model_id"]
    version = Path(expect(api.get(f"{API}/saved-models/{sid}/location"), 200)["location"])
    assert model_files.read_checksum(version) == hashlib.sha256(version.read_bytes()).hexdigest()
    expect(api.post(f"{API}/saved-models/{sid}/predict", json=ROWS), 200)
    _garble(version)
    expect_error(api.post(f"{API}/saved-models/{sid}/predict", json=ROWS), 409, "model_file_corrupt")
    expect_error(api.get(f"{API}/saved-models/{sid}/download"), 409, "model_file_corrupt")
    for fmt in ("onnx", "savedmodel"):
        expect_error(api.get(f"{API}/saved-models/{sid}/export?format={fmt}"), 409, "model_file_corrupt")
    version.unlink()
    expect_error(api.post(f"{API}/saved-models/{sid}/predict", json=ROWS), 404, "file_missing")
    expect_error(api.get(f"{API}/saved-models/{sid}/export?format=onnx"), 404, "file_missing")
    expect_error(api.get(f"{API}/saved-models/{sid}/download"), 404, "file_missing")


def test_a_file_that_matches_its_sidecar_but_keras_cannot_load_is_409(api: Any, model: dict[str, Any]) -> None:
    _truncate(model["path"])
    model_files.write_checksum(model["path"])  # the damage happened before the checksum was taken
    expect_error(api.post(f"{API}/trained-models/{model['id']}/predict", json=ROWS), 409, "model_file_corrupt")
