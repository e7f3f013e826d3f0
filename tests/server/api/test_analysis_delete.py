"""DELETE /analyses/{id}: removes the analysis (then its dataset can go), refuses while a session is queued."""

from __future__ import annotations

from tests.conftest import Api


def _analysis(api: Api, demo_csv: bytes) -> tuple[int, str, str]:
    assert api.post("/api/v1/projects", json={"key": "DEL"}).status_code == 201
    ds = api.upload_csv("DEL", "bc", demo_csv).json()["id"]
    analysis = api.post("/api/v1/projects/DEL/analyses", json={"dataset_id": ds}).json()["id"]
    task = api.post(f"/api/v1/analyses/{analysis}/ml-tasks", json={"target": "diagnosis"}).json()["id"]
    return ds, analysis, task


def test_delete_analysis_then_dataset(api: Api, demo_csv: bytes) -> None:
    ds, analysis, task = _analysis(api, demo_csv)
    assert api.delete(f"/api/v1/datasets/{ds}").status_code == 409
    assert api.delete(f"/api/v1/analyses/{analysis}").status_code == 204
    assert api.get(f"/api/v1/analyses/{analysis}").status_code == 404
    assert api.get(f"/api/v1/ml-tasks/{task}").status_code == 404
    assert api.delete(f"/api/v1/datasets/{ds}").status_code == 204


def test_delete_analysis_refused_while_a_session_is_queued(api: Api, demo_csv: bytes) -> None:
    _ds, analysis, task = _analysis(api, demo_csv)
    session = api.post(f"/api/v1/ml-tasks/{task}/train", json={}).json()
    r = api.delete(f"/api/v1/analyses/{analysis}")
    assert r.status_code == 409 and r.json()["code"] == "session_running"
    assert api.post(f"/api/v1/sessions/{session['id']}/abort").status_code == 202
    assert api.delete(f"/api/v1/analyses/{analysis}").status_code == 204


def test_delete_analysis_needs_admin(api: Api, demo_csv: bytes) -> None:
    _ds, analysis, _task = _analysis(api, demo_csv)
    writer = api.user("wri", "DEL", "writer")
    assert api.delete(f"/api/v1/analyses/{analysis}", token=writer).status_code == 403
    outsider = api.user("out")
    assert api.delete(f"/api/v1/analyses/{analysis}", token=outsider).status_code == 404
