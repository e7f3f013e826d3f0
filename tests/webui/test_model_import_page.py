"""The project page's "Import a model" form (writers only) posts to the REST import; an imported saved model's page
says where it came from and that it cannot be scored (the Keras check itself is tested in
tests/server/api/test_model_import.py; here it is stubbed, so no TensorFlow child starts)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.webui.conftest import Web, location


@pytest.fixture
def quick_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.services import model_import

    def inspect(settings: Any, src: Any, out: Any) -> dict[str, Any]:
        return {"ok": True, "input_shapes": {"pixels": [8]}, "output_shapes": [[2]], "rewritten": False, "notes": []}

    monkeypatch.setattr(model_import, "inspect", inspect)


def test_import_form_and_imported_saved_model_page(web: Web, quick_check: None) -> None:
    assert location(web.post("/projects", {"key": "IMP", "name": "Imports"})) == "/projects/IMP"
    page = web.get("/projects/IMP").text
    assert 'id="import-form"' in page and 'data-url="/api/v1/projects/IMP/saved-models/import"' in page
    assert "/static/js/model_import.js" in page
    assert web.get("/static/js/model_import.js").status_code == 200

    r = web.client.post(  # what model_import.js sends: the session cookie and the CSRF header
        "/api/v1/projects/IMP/saved-models/import",
        data={"name": "lab model"},
        files={"file": ("lab.keras", _zip_with_config(), "application/octet-stream")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    saved_id = r.json()["id"]
    page = web.get(f"/saved-models/{saved_id}").text
    assert "imported</span>" in page and "lab.keras" in page and "pixels [8]" in page
    assert 'id="not-scorable"' in page and 'id="score-form"' not in page
    assert f"get_keras_model_from_saved_model(saved_model_id={saved_id}" in page
    assert "lab model" in web.get("/projects/IMP").text

    reader = web.api.user("rhea", "IMP", "reader")
    assert reader
    other = Web(web.client.__class__(web.client.app, raise_server_exceptions=False), web.api)
    other.login("rhea", "pw-rhea")
    assert 'id="import-form"' not in other.get("/projects/IMP").text


def _zip_with_config() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"")
    return buf.getvalue()
