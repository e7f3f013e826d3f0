"""The design page's training "Random seed" field: a number is stored as training.seed, an empty field as null."""

from __future__ import annotations

from typing import Any

from tests.webui.conftest import Web, location
from tests.webui.support import design_form


def _stored_seed(web: Web, task_id: str) -> Any:
    return web.api.get(f"/api/v1/ml-tasks/{task_id}/settings").json()["training"]["seed"]


def test_saving_the_form_stores_the_seed_or_null(web: Web, task: dict[str, Any]) -> None:
    form = design_form(web, task["id"])
    assert form["training-seed"] == str(_stored_seed(web, task["id"])) == "1337"  # the default, shown in the field
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "training-seed": "4242", "action": "save"}))
    assert _stored_seed(web, task["id"]) == 4242
    assert design_form(web, task["id"])["training-seed"] == "4242"
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "training-seed": " ", "action": "save"}))
    assert _stored_seed(web, task["id"]) is None  # drawn at random and recorded per session
    page = web.get(f"/ml-tasks/{task['id']}/design").text
    assert 'name="training-seed" value="" min="0" max="4294967295" placeholder="random"' in page
    r = web.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json={"training": {"seed": 7}})
    assert r.status_code == 200, r.text
    without = {k: v for k, v in form.items() if k != "training-seed"}  # a post that predates the field keeps it
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**without, "action": "save"}))
    assert _stored_seed(web, task["id"]) == 7


def test_a_seed_out_of_range_is_refused_on_the_page(web: Web, task: dict[str, Any]) -> None:
    form = design_form(web, task["id"])
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "training-seed": "-1", "action": "validate"})
    assert r.status_code == 200 and r.json()["ok"] is False
    assert any("seed" in str(e.get("field")) for e in r.json()["errors"]), r.json()
    assert _stored_seed(web, task["id"]) == 1337
