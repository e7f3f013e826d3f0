"""The audit trail: who submitted which code and when, who deployed and deleted what; GET /projects/{key}/audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.conftest import Api
from tests.security.support import create_world, fabricate_trained_model
from tests.server.api.support import API, expect, expect_error

KEY = "AUDIT"
CODE_MARK = "# audited-architecture-marker"


@pytest.fixture(scope="module")
def world(module_api: Api) -> dict[str, Any]:
    """Project AUDIT (admin au_admin, writer au_writer, reader au_reader) and an unrelated project OTHER."""
    api = module_api
    w = create_world(api, KEY)
    w["admin"] = api.user("au_admin", KEY, "admin")
    w["writer"] = api.user("au_writer", KEY, "writer")
    w["reader"] = api.user("au_reader", KEY, "reader")
    w["outsider"] = api.user("au_outsider")
    create_world(api, "OTHER")
    return w


def _events(api: Api, token: str, **params: Any) -> list[dict[str, Any]]:
    return expect(api.get(f"{API}/projects/{KEY}/audit", token=token, params=params), 200)


def test_a_submission_records_who_submitted_which_code(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    settings = expect(api.get(f"{API}/ml-tasks/{world['mt']}/settings"), 200)
    settings["code"]["architecture"] += f"\n{CODE_MARK}\n"
    expect(
        api.put(f"{API}/ml-tasks/{world['mt']}/settings", json={"code": settings["code"]}, token=world["writer"]), 200
    )
    session = expect(api.post(f"{API}/ml-tasks/{world['mt']}/train", json={}, token=world["writer"]), 202)
    # Later edits never change what the session froze.
    settings["code"]["architecture"] += "\n# edited after the submission\n"
    expect(api.put(f"{API}/ml-tasks/{world['mt']}/settings", json={"code": settings["code"]}), 200)
    body = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert body["submitted_by"] == "au_writer"
    from server.db import session_scope
    from server.models import TrainingSession

    with session_scope() as db:
        row = db.get(TrainingSession, session["id"])
        assert row is not None
        assert row.design["submitted_by"] == "au_writer"
        assert CODE_MARK in row.design["settings"]["code"]["architecture"]
        assert "edited after" not in row.design["settings"]["code"]["architecture"]
    submits = _events(api, world["admin"], action="session.submit")
    mine = next(e for e in submits if e["detail"].get("session_id") == session["id"])
    assert mine["user"] == "au_writer"
    assert CODE_MARK in mine["detail"]["code"]["architecture"]
    assert "edited after" not in mine["detail"]["code"]["architecture"]
    assert datetime.fromisoformat(mine["at"].replace("Z", "+00:00")) >= datetime.fromisoformat(
        body["queued_at"].replace("Z", "+00:00")
    ).replace(microsecond=0)
    expect(api.post(f"{API}/sessions/{session['id']}/abort", token=world["writer"]), 202)


def test_deployments_and_deletions_are_logged_with_the_user(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    tm = fabricate_trained_model(api, world["mt"], real_keras=False)
    deployed = expect(
        api.post(f"{API}/trained-models/{tm}/deploy", json={"saved_model_name": "audited"}, token=world["writer"]), 201
    )
    saved = deployed["saved_model_id"]
    extra = {"saved_model_id": saved, "version_id": "v-old", "activate": False}
    expect(api.post(f"{API}/trained-models/{tm}/deploy", json=extra, token=world["writer"]), 201)
    assert api.delete(f"{API}/saved-models/{saved}/versions/v-old", token=world["admin"]).status_code == 204
    assert api.delete(f"{API}/saved-models/{saved}", token=world["admin"]).status_code == 204
    doomed = fabricate_trained_model(api, world["mt"], real_keras=False)
    assert api.delete(f"{API}/trained-models/{doomed}", token=world["admin"]).status_code == 204
    ds = expect(api.upload_csv(KEY, "to delete", b"a,b\n1,2\n", "d.csv", token=world["writer"]), 201)
    assert api.delete(f"{API}/datasets/{ds['id']}", token=world["writer"]).status_code == 204

    events = _events(api, world["admin"], limit=50)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_action.setdefault(e["action"], []).append(e)

    def one(action: str, target: str) -> dict[str, Any]:
        found = [e for e in by_action.get(action, []) if e["target"] == target]
        assert found, f"no {action} {target} in {[(e['action'], e['target']) for e in events]}"
        return found[0]

    deploy = one("model.deploy", f"{saved}/{deployed['version_id']}")
    assert deploy["user"] == "au_writer" and deploy["detail"]["trained_model"] == tm
    assert one("model.version.delete", f"{saved}/v-old")["user"] == "au_admin"
    assert one("model.saved.delete", str(saved))["user"] == "au_admin"
    assert one("model.trained.delete", doomed)["user"] == "au_admin"
    assert one("dataset.create", str(ds["id"]))["user"] == "au_writer"
    assert one("dataset.delete", str(ds["id"]))["user"] == "au_writer"
    # Newest first.
    stamps = [e["at"] for e in events]
    assert stamps == sorted(stamps, reverse=True)
    assert events[0]["action"] == "dataset.delete"


def test_the_audit_log_is_for_project_admins_and_only_its_project(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    events = _events(api, world["admin"], limit=1000)
    assert events and all(e["detail"].get("project", KEY) == KEY for e in events)
    assert not [e for e in events if e["target"] == "OTHER"]
    assert any(e["action"] == "project.create" and e["target"] == KEY for e in events)
    assert len(_events(api, world["admin"], limit=2)) == 2
    expect_error(api.get(f"{API}/projects/{KEY}/audit", token=world["admin"], params={"limit": 0}), 422)
    expect_error(api.get(f"{API}/projects/{KEY}/audit", token=world["admin"], params={"limit": 10**9}), 422)
    expect_error(api.get(f"{API}/projects/{KEY}/audit", token=world["writer"]), 403, "forbidden")
    expect_error(api.get(f"{API}/projects/{KEY}/audit", token=world["reader"]), 403, "forbidden")
    expect_error(api.get(f"{API}/projects/{KEY}/audit", token=world["outsider"]), 404, "not_found")
    expect_error(api.client.get(f"{API}/projects/{KEY}/audit"), 401)
