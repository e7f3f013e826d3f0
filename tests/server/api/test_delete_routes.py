"""DELETE /ml-tasks/{id} and DELETE /sessions/{id}: what goes with them, the 409 rules, the admin role; and the
project key's case (POST /projects refuses a lowercase key, naming the upper-case one)."""

from __future__ import annotations

from typing import Any

from tests.security.support import SMALL_CSV, fabricate_trained_model
from tests.server.api.support import API, create_analysis, create_ml_task, expect, expect_error, train, upload


def _task(api: Any, project: str, name: str = "small") -> dict[str, Any]:
    ds = expect(upload(api, project, name, SMALL_CSV, "small.csv"), 201)
    return create_ml_task(api, create_analysis(api, project, ds["id"])["id"], "label")


def test_delete_ml_task_takes_its_sessions_and_models_with_their_files(api: Any, project: str) -> None:
    task, other = _task(api, project), _task(api, project, "other")
    tmid = fabricate_trained_model(api, task["id"], real_keras=False)
    kept = fabricate_trained_model(api, other["id"], real_keras=False)
    model_dir = api.settings.artifacts / "projects" / project / "trained" / tmid
    session_id = expect(api.get(f"{API}/trained-models/{tmid}"), 200)["session_id"]
    assert model_dir.is_dir()
    writer = api.user("wri", project, "writer")
    expect_error(api.delete(f"{API}/ml-tasks/{task['id']}", token=writer), 403)
    assert api.delete(f"{API}/ml-tasks/{task['id']}").status_code == 204
    expect_error(api.get(f"{API}/ml-tasks/{task['id']}"), 404)
    expect_error(api.get(f"{API}/sessions/{session_id}"), 404)
    expect_error(api.get(f"{API}/trained-models/{tmid}"), 404)
    assert not model_dir.exists()
    assert expect(api.get(f"{API}/trained-models/{kept}"), 200)["ml_task_id"] == other["id"]
    audit = expect(api.get(f"{API}/projects/{project}/audit", params={"action": "mltask.delete"}), 200)
    assert [e["target"] for e in audit] == [task["id"]]


def test_delete_ml_task_refused_while_a_session_is_queued_or_its_model_deployed(api: Any, project: str) -> None:
    task = _task(api, project)
    queued = train(api, task["id"])
    expect_error(api.delete(f"{API}/ml-tasks/{task['id']}"), 409, "session_running")
    expect(api.post(f"{API}/sessions/{queued['id']}/abort"), 202)
    tmid = fabricate_trained_model(api, task["id"])
    deployed = expect(api.post(f"{API}/trained-models/{tmid}/deploy", json={"saved_model_name": "prod"}), 201)
    expect_error(api.delete(f"{API}/ml-tasks/{task['id']}"), 409, "model_in_use")
    expect(api.get(f"{API}/ml-tasks/{task['id']}"), 200)
    assert api.delete(f"{API}/saved-models/{deployed['saved_model_id']}").status_code == 204
    assert api.delete(f"{API}/ml-tasks/{task['id']}").status_code == 204


def test_delete_session_keeps_the_task_and_its_other_sessions(api: Any, project: str) -> None:
    task = _task(api, project)
    first = train(api, task["id"])
    expect_error(api.delete(f"{API}/sessions/{first['id']}"), 409, "session_running")
    expect(api.post(f"{API}/sessions/{first['id']}/abort"), 202)
    tmid = fabricate_trained_model(api, task["id"], real_keras=False)
    second = expect(api.get(f"{API}/trained-models/{tmid}"), 200)["session_id"]
    reader = api.user("rea", project, "reader")
    expect_error(api.delete(f"{API}/sessions/{second}", token=reader), 403)
    expect_error(api.delete(f"{API}/sessions/{second}", token=api.user("outsider")), 404)
    assert api.delete(f"{API}/sessions/{second}").status_code == 204
    expect_error(api.get(f"{API}/trained-models/{tmid}"), 404)
    assert [s["id"] for s in expect(api.get(f"{API}/ml-tasks/{task['id']}/sessions"), 200)] == [first["id"]]
    assert expect(api.get(f"{API}/ml-tasks/{task['id']}/trained-models"), 200) == []
    assert api.delete(f"{API}/sessions/{first['id']}").status_code == 204
    expect_error(api.delete(f"{API}/sessions/{first['id']}"), 404)


def test_a_lowercase_project_key_is_refused_naming_the_upper_case_one(api: Any) -> None:
    body = expect_error(api.post(f"{API}/projects", json={"key": "churn_2", "name": "x"}), 422, "bad_key")
    assert "'CHURN_2'" in body["detail"]
    body = expect_error(api.post(f"{API}/projects", json={"key": "2x", "name": "x"}), 422, "bad_key")
    assert "upper-case letter" in body["detail"]
    assert expect(api.post(f"{API}/projects", json={"key": "CHURN_2"}), 201)["key"] == "CHURN_2"


def test_counts_pages_and_deletes_on_postgresql(pg_redis_settings: Any) -> None:
    from server.db import session_scope
    from server.models import Analysis, MLTask, Project
    from server.services import deletes
    from tests.conftest import make_api

    api = make_api(pg_redis_settings)
    with api.client:
        expect(api.post(f"{API}/projects", json={"key": "PG"}), 201)
        task, other = _task(api, "PG"), _task(api, "PG", "other")
        fabricate_trained_model(api, task["id"], real_keras=False)
        train(api, task["id"])
        with session_scope() as db:
            project = db.query(Project).filter_by(key="PG").one()
            assert deletes.project_impact(db, project) == {
                "datasets": 2, "analyses": 2, "ML tasks": 2, "sessions": 2, "saved models": 0, "folders": 0,
            }  # fmt: skip
            analysis = db.get(Analysis, task["analysis_id"])
            assert deletes.analysis_impact(db, analysis) == {"ML tasks": 1, "sessions": 2, "trained models": 1}
            tasks = [db.get(MLTask, task["id"]), db.get(MLTask, other["id"])]
            assert deletes.task_impacts(db, tasks) == {
                task["id"]: {"sessions": 2, "trained models": 1},
                other["id"]: {"sessions": 0, "trained models": 0},
            }
        r = api.get(f"{API}/projects/PG/analyses", params={"limit": 1})
        rest = api.get(f"{API}/projects/PG/analyses", params={"limit": 1, "cursor": r.headers["x-next-cursor"]})
        assert [a["id"] for a in r.json() + rest.json()] == [task["analysis_id"], other["analysis_id"]]
        assert "link" not in rest.headers
        expect_error(api.delete(f"{API}/ml-tasks/{task['id']}"), 409, "session_running")
        assert api.delete(f"{API}/ml-tasks/{other['id']}").status_code == 204
