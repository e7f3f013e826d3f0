"""Delete buttons on the pages (server-side): each says what goes with it, and only who the API lets delete sees it
(admins; writers too for datasets). The dialog itself is driven in test_browser_delete_lists.py."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.webui.conftest import Web, location
from tests.webui.support import fake_trained_model


def _buttons(page: str) -> dict[str, str]:
    """{DELETE url: what its dialog says} of a page's delete buttons."""
    found = re.findall(r'data-delete="([^"]+)"[^>]*?data-delete-(?:message|blocked)="([^"]+)"', page, re.S)
    return {url: html.unescape(text) for url, text in found}


def _as(web: Web, name: str, role: str) -> Web:
    web.api.user(name, "P1", role)
    other = Web(type(web.client)(web.client.app, raise_server_exceptions=False), web.api)
    other.login(name, f"pw-{name}")
    return other


def test_each_page_says_what_its_delete_takes_with_it(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, {"kind": "regression", "n_rows": 1, "actual": [1], "predicted": [1]})
    saved_url = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "m", "activate": "1"}))
    saved_id = saved_url.split("/")[2].split("?")[0]
    project = _buttons(web.get("/projects/P1").text)
    assert project == {
        "/api/v1/projects/P1": "Deleting project P1 also deletes its 1 dataset, 1 analysis, 1 ML task, 1 session and "
        "1 saved model. This cannot be undone."
    }
    analysis = _buttons(web.get(f"/analyses/{task['analysis']}").text)
    assert analysis == {
        f"/api/v1/analyses/{task['analysis']}": "Deleting analysis A also deletes its 1 ML task, 1 session and "
        "1 trained model. This cannot be undone.",
        f"/api/v1/ml-tasks/{task['id']}": f"Deleting ML task {_task_name(web, task)} also deletes its 1 session and 1 "
        "trained model. This cannot be undone.",
    }
    dataset = _buttons(web.get(f"/datasets/{task['dataset']}").text)
    assert dataset == {
        f"/api/v1/datasets/{task['dataset']}": "Dataset cancer cannot be deleted: it is used by 1 analysis; delete "
        "those first."
    }
    session_id = web.api.get(f"/api/v1/trained-models/{tmid}").json()["session_id"]
    results = _buttons(web.get(f"/ml-tasks/{task['id']}").text)
    assert results == {
        f"/api/v1/sessions/{session_id}": f"Deleting session s1 also deletes its trained model {tmid}, its log and "
        "checkpoints. This cannot be undone."
    }
    saved = _buttons(web.get(saved_url).text)
    assert saved == {
        f"/api/v1/saved-models/{saved_id}": "Deleting saved model m also deletes its 1 version and their model files "
        "(the trained models stay). This cannot be undone.",
        f"/api/v1/saved-models/{saved_id}/versions/v1": "Version v1 cannot be deleted: it is the active version; make "
        "another version active first.",
    }


def _task_name(web: Web, task: dict[str, Any]) -> str:
    return str(web.api.get(f"/api/v1/ml-tasks/{task['id']}").json()["name"])


def test_only_who_may_delete_sees_the_button(web: Web, task: dict[str, Any]) -> None:
    writer, reader = _as(web, "wanda", "writer"), _as(web, "rita", "reader")
    for page in ("/projects/P1", f"/analyses/{task['analysis']}", f"/ml-tasks/{task['id']}"):
        assert _buttons(writer.get(page).text) == {}, page
        assert _buttons(reader.get(page).text) == {}, page
    assert list(_buttons(writer.get(f"/datasets/{task['dataset']}").text)) == [f"/api/v1/datasets/{task['dataset']}"]
    assert _buttons(reader.get(f"/datasets/{task['dataset']}").text) == {}
    assert "/static/js/delete.js" not in reader.get(f"/datasets/{task['dataset']}").text
