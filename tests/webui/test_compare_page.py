"""The compare page and the results page's compare ticks and tags, as the server renders them (no browser)."""

from __future__ import annotations

import html
from typing import Any

from tests.webui.conftest import Web, location


def _history(session_id: int, history: list[dict[str, Any]]) -> None:
    """Store HISTORY as the worker stores epochs (nothing trains here)."""
    from server.db import session_scope
    from server.models import TrainingSession

    with session_scope() as db:
        db.get(TrainingSession, session_id).history = history


def _train(web: Web, task_id: str) -> int:
    """Train from the results page; the id of the new session."""
    return int(location(web.post(f"/ml-tasks/{task_id}/train")).rsplit("=", 1)[1])


def test_the_compare_page_marks_the_best_metric_and_shows_the_design_diff(web: Web, task: dict[str, Any]) -> None:
    settings = web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()
    first = _train(web, task["id"])
    code = {**settings["code"], "architecture": settings["code"]["architecture"] + "\n# second idea\n"}
    r = web.client.put(
        f"/api/v1/ml-tasks/{task['id']}/settings",
        json={"training": {"epochs": 9}, "code": code},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 200, r.text
    second = _train(web, task["id"])
    _history(first, [{"epoch": 1, "loss": 0.5, "Test ROC AUC": 0.97}])
    _history(second, [{"epoch": 1, "loss": 0.4, "Test ROC AUC": 0.88}])

    page = web.get(f"/ml-tasks/{task['id']}/compare?sessions=1&sessions=2")
    assert page.status_code == 200, page.text[:500]
    text = html.unescape(page.text)
    assert '<td class="num best" data-session="1" title="best Test ROC AUC">' in text  # higher AUC: s1
    assert '<td class="num best" data-session="2" title="best loss">' in text  # lower loss: s2
    assert '<tr data-path="training.epochs"><td class="mono">training.epochs</td>' in text
    assert '<span class="removed">-# second idea</span>' not in text
    assert '<span class="added">+# second idea</span>' in text  # s2 against s1
    assert web.get(f"/ml-tasks/{task['id']}/compare?sessions=1,2").text == page.text  # the API's own form

    results = web.get(f"/ml-tasks/{task['id']}").text
    assert 'id="compare-form"' in results and 'name="sessions" value="2"' in results


def test_a_bad_or_unknown_compare_address_is_an_error_page_not_a_crash(web: Web, task: dict[str, Any]) -> None:
    _train(web, task["id"])
    assert web.get(f"/ml-tasks/{task['id']}/compare?sessions=1,x").status_code == 422
    assert web.get(f"/ml-tasks/{task['id']}/compare").status_code == 422
    assert web.get(f"/ml-tasks/{task['id']}/compare?sessions=1,4").status_code == 404


def test_tags_and_note_show_in_the_sessions_table(web: Web, task: dict[str, Any]) -> None:
    session_id = _train(web, task["id"])
    r = web.client.patch(
        f"/api/v1/sessions/{session_id}",
        json={"tags": ["baseline"], "note": "lr <0.01> first"},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 200, r.text
    page = web.get(f"/ml-tasks/{task['id']}").text
    assert '<td data-tags><span class="badge">baseline</span>' in page
    assert "lr &lt;0.01&gt; first" in page and "<0.01>" not in page  # escaped, as every user text
