"""TensorBoard behind the login (api.md: `GET /sessions/{id}/tensorboard/…`, `GET /ml-tasks/{id}/tensorboard/…`).

No worker runs here: the tests write a session's event files where the worker copies them
(artifacts/sessions/<id>/tensorboard/) and read them back through TensorBoard's own HTTP API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.support import API, expect, expect_error


def _write_scalars(folder: Path, values: dict[str, float], step: int = 1) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for key, value in values.items():
            tf.summary.scalar(key, value, step=step)
    writer.close()


@pytest.fixture
def logged(api: Any, ml_task: dict[str, Any]) -> dict[str, Any]:
    """A queued session whose TensorBoard folder holds base scalars and a user's run."""
    from server.services import storage
    from webui import tensorboard

    tensorboard.BOARDS.clear()
    session = expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/train", json={}), 202)
    folder = storage.session_dir(api.settings, session["id"]) / "tensorboard"
    _write_scalars(folder / "fitstudio", {"loss": 0.7, "Test ROC AUC": 0.8, "Train ROC AUC": 0.85})
    _write_scalars(folder / "user" / "logs" / "train", {"epoch_loss": 0.6})
    return {"task": ml_task, "session": session, "folder": folder}


def test_the_owner_gets_tensorboard_with_the_session_runs_and_tags(api: Any, logged: dict[str, Any]) -> None:
    base = f"/sessions/{logged['session']['id']}/tensorboard"
    r = api.get(base, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].endswith(f"{base}/")
    r = api.get(f"{base}/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<tb-webapp>" in r.text and '"tb-relative-root" content="./"' in r.text
    runs = expect(api.get(f"{base}/data/runs"), 200)
    assert set(runs) == {"fitstudio", "user/logs/train"}, runs
    tags = expect(api.get(f"{base}/data/plugin/scalars/tags"), 200)
    assert {"loss", "Test ROC AUC", "Train ROC AUC"} <= set(tags["fitstudio"]), tags
    scalars = expect(
        api.get(f"{base}/data/plugin/scalars/scalars", params={"run": "fitstudio", "tag": "Test ROC AUC"}), 200
    )
    assert [round(v, 4) for _t, step, v in scalars if step == 1] == [0.8]
    # The same under the API's base path.
    assert set(expect(api.get(f"{API}{base}/data/runs"), 200)) == set(runs)


def test_the_ml_task_shows_each_session_as_a_run(api: Any, logged: dict[str, Any]) -> None:
    base = f"/ml-tasks/{logged['task']['id']}/tensorboard"
    n = logged["session"]["number"]
    runs = expect(api.get(f"{base}/data/runs"), 200)
    assert {f"s{n}/fitstudio", f"s{n}/user/logs/train"} <= set(runs), runs
    tags = expect(api.get(f"{base}/data/plugin/scalars/tags"), 200)
    assert "Test ROC AUC" in tags[f"s{n}/fitstudio"]


def test_new_epochs_show_without_a_restart(api: Any, logged: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from webui import tensorboard

    monkeypatch.setattr(tensorboard, "RELOAD_EVERY_S", 0.0)
    base = f"/sessions/{logged['session']['id']}/tensorboard"
    assert "Test Accuracy" not in expect(api.get(f"{base}/data/plugin/scalars/tags"), 200)["fitstudio"]
    _write_scalars(logged["folder"] / "fitstudio", {"Test Accuracy": 0.9}, step=2)
    assert "Test Accuracy" in expect(api.get(f"{base}/data/plugin/scalars/tags"), 200)["fitstudio"]


def test_permissions_are_the_sessions(api: Any, project: str, logged: dict[str, Any]) -> None:
    sid, task_id = logged["session"]["id"], logged["task"]["id"]
    outsider = api.user("outsider")
    for path in (
        f"/sessions/{sid}/tensorboard/",
        f"/ml-tasks/{task_id}/tensorboard/data/runs",
        f"{API}/sessions/{sid}/tensorboard/data/runs",
    ):
        expect_error(api.get(path, token=outsider), 404, "not_found")
        r = api.client.get(path)  # nobody logged in
        expect_error(r, 401)
    expect_error(api.get(f"/sessions/{sid}/tensorboard/", token="fst_never-issued"), 401, "bad_token")
    # A person's browser is sent to the login page, and back here after it.
    r = api.client.get(f"/sessions/{sid}/tensorboard/", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fsessions%2F")
    reader = api.user("reader", project, "reader")  # the project's read permission is enough
    assert expect(api.get(f"/sessions/{sid}/tensorboard/data/runs", token=reader), 200)
    assert expect(api.get(f"/ml-tasks/{task_id}/tensorboard/data/runs", token=reader), 200)
    expect_error(api.client.put(f"/sessions/{sid}/tensorboard/data/runs", headers=api.headers()), 405)


def test_the_web_session_cookie_is_enough_for_reads_and_tensorboards_posts(api: Any, logged: dict[str, Any]) -> None:
    sid = logged["session"]["id"]
    r = api.client.get(f"/login?token={api.token}", follow_redirects=False)
    assert r.status_code == 303
    base = f"/sessions/{sid}/tensorboard"
    assert set(expect(api.client.get(f"{base}/data/runs"), 200)) == {"fitstudio", "user/logs/train"}
    # TensorBoard's own dashboards POST their larger reads, without fitstudio's CSRF header.
    r = api.client.post(
        f"{base}/data/plugin/scalars/scalars_multirun", data={"tag": "Test ROC AUC", "runs": ["fitstudio"]}
    )
    assert r.status_code == 200, r.text
    assert "fitstudio" in r.json()


@pytest.mark.parametrize("what", ["analysis", "project"])
def test_the_logs_are_deleted_with_their_sessions(api: Any, project: str, logged: dict[str, Any], what: str) -> None:
    sid = logged["session"]["id"]
    expect(api.post(f"{API}/sessions/{sid}/abort"), 202)
    assert logged["folder"].is_dir()
    path = f"{API}/analyses/{logged['task']['analysis_id']}" if what == "analysis" else f"{API}/projects/{project}"
    assert api.delete(path).status_code == 204
    assert not logged["folder"].parent.exists()
