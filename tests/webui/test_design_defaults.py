"""The design page's "Reset to default" on every code tab, and its default_code action (no browser)."""

from __future__ import annotations

import re
from typing import Any

from tests.server.api.support import typed_csv
from tests.webui.conftest import Web, location
from tests.webui.support import design_form


def _typed_task(web: Web) -> str:
    """An ML task on a dataset with numeric, categorical and text columns, created through the pages."""
    assert location(web.post("/projects", {"key": "TX", "name": "Text"})) == "/projects/TX"
    r = web.client.post(
        "/api/v1/projects/TX/datasets",
        data={"name": "typed"},
        files={"file": ("typed.csv", typed_csv(), "text/csv")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    analysis_url = location(web.post("/projects/TX/analyses", {"dataset_id": str(r.json()["id"]), "name": "A"}))
    return location(web.post(f"/analyses/{analysis_url.rsplit('/', 1)[1]}/ml-tasks", {"target": "bin"})).split("/")[2]


def test_every_code_tab_has_reset_to_default(web: Web, task: dict[str, Any]) -> None:
    page = web.get(f"/ml-tasks/{task['id']}/design").text
    cells = re.findall(r'<button type="button" data-reset-editor="([a-z_]+)"[^>]*>Reset to default</button>', page)
    assert sorted(cells) == ["architecture", "custom_score", "training"]
    assert '"defaults": {"architecture": ' in page  # the page's own copy, for when the server cannot be asked


def test_default_code_follows_the_features_the_form_holds(web: Web) -> None:
    task_id = _typed_task(web)
    form = design_form(web, task_id)
    assert "txt_preprocessed" in form["code-architecture"]
    text_row = next(k for k, v in form.items() if k.endswith("-name") and v == "txt")
    r = web.fetch(f"/ml-tasks/{task_id}/design", {**form, "action": "default_code"})
    assert r.status_code == 200 and "txt_preprocessed" in r.json()["defaults"]["architecture"]
    form[text_row.replace("-name", "-role")] = "reject"
    edited = {**form, "code-architecture": form["code-architecture"] + "\n# mine\n"}
    r = web.fetch(f"/ml-tasks/{task_id}/design", {**edited, "action": "default_code"})
    defaults = r.json()["defaults"]
    assert "txt_preprocessed" not in defaults["architecture"] and "def fit_model" in defaults["training"]
    assert "GREATER_IS_BETTER" in defaults["custom_score"]
    # Validate on the page names the input the edited code still reads.
    r = web.fetch(f"/ml-tasks/{task_id}/design", {**edited, "action": "validate"})
    assert r.json()["ok"] is False and "txt_preprocessed" in r.json()["errors"][0]["message"]
    # Saving the unedited default with the text column rejected regenerates it.
    assert location(web.post(f"/ml-tasks/{task_id}/design", {**form, "action": "save"})).endswith("saved=1")
    assert "txt_preprocessed" not in design_form(web, task_id)["code-architecture"]
