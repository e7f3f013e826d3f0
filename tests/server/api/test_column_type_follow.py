"""A column's type change reaches the ML tasks that took that type, not a type set in the design, nor a session."""

from __future__ import annotations

from typing import Any

from tests.server.api import support
from tests.server.api.support import API, expect
from tests.server.api.test_dataset_columns import messy_columns


def _task(api: Any, project: str, dataset_id: int, name: str) -> dict[str, Any]:
    an = expect(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": dataset_id, "name": name}), 201)
    return expect(api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "y", "name": name}), 201)


def _retype(api: Any, dataset_id: int, name: str, new_type: str) -> dict[str, Any]:
    """PATCH the column NAME's type; the answer."""
    body = {"type": new_type}
    return expect(
        api.client.patch(f"{API}/datasets/{dataset_id}/columns/{name}", headers=api.headers(), json=body), 200
    )


def _frozen_features(session_id: int) -> dict[str, Any]:
    """The features of a session's frozen design, as the worker will read it (no route shows the design)."""
    from server.db import session_scope
    from server.models import TrainingSession

    with session_scope() as db:
        row = db.get(TrainingSession, session_id)
        assert row is not None
        return row.design["settings"]["features"]


def _settings(api: Any, task: dict[str, Any]) -> dict[str, Any]:
    return expect(api.get(f"{API}/ml-tasks/{task['id']}/settings"), 200)


def test_tasks_follow_a_type_change_unless_the_design_set_the_type(api: Any, project: str) -> None:
    ds = expect(support.upload(api, project, "messy", support.parquet_bytes(messy_columns()), "messy.parquet"), 201)
    assert {c["name"]: c["type"] for c in ds["columns"]}["code"] == "categorical"  # '3', 'n/a', '5', …
    inherited = _task(api, project, ds["id"], "inherited")
    explicit = _task(api, project, ds["id"], "explicit")
    untouched = _task(api, project, ds["id"], "other column")
    doc = _settings(api, inherited)
    doc["features"]["code"] = {"role": "input", "type": "categorical", "encoding": "index"}  # an option of the type
    doc = expect(api.put(f"{API}/ml-tasks/{inherited['id']}/settings", json=doc), 200)
    assert "code_preprocessed" in doc["code"]["architecture"]
    session = expect(api.post(f"{API}/ml-tasks/{inherited['id']}/train", json={}), 202)  # its design is frozen now
    mine = _settings(api, explicit)
    mine["features"]["code"] = {"role": "input", "type": "text"}  # set by the user: not the column's type
    expect(api.put(f"{API}/ml-tasks/{explicit['id']}/settings", json=mine), 200)
    before_untouched = _settings(api, untouched)

    changed = _retype(api, ds["id"], "code", "numeric")
    assert changed["type"] == "numeric" and changed["unparseable"] == 10
    assert changed["ml_tasks_updated"] == [inherited["id"], untouched["id"]]

    followed = _settings(api, inherited)
    assert followed["features"]["code"] == {"role": "input", "type": "numeric"}  # the categorical options dropped
    assert "code_preprocessed" not in followed["code"]["architecture"]  # the unedited architecture followed
    assert _settings(api, explicit)["features"]["code"] == {"role": "input", "type": "text"}
    after_untouched = _settings(api, untouched)
    assert after_untouched["features"]["code"]["type"] == "numeric"
    assert {k: v for k, v in after_untouched["features"].items() if k != "code"} == {
        k: v for k, v in before_untouched["features"].items() if k != "code"
    }
    assert expect(api.post(f"{API}/ml-tasks/{inherited['id']}/validate", json={}), 200)["ok"] is True
    assert _frozen_features(session["id"])["code"]["type"] == "categorical"  # the queued session keeps its design
    stored = expect(api.get(f"{API}/datasets/{ds['id']}"), 200)
    assert "ml_tasks_updated" not in {k for c in stored["columns"] for k in c}  # an answer, not column metadata


def test_a_change_back_follows_again_and_an_unchanged_type_touches_nothing(api: Any, project: str) -> None:
    ds = expect(support.upload(api, project, "messy", support.parquet_bytes(messy_columns()), "messy.parquet"), 201)
    task = _task(api, project, ds["id"], "t")
    assert _retype(api, ds["id"], "x", "numeric")["ml_tasks_updated"] == []  # the same type: nothing to follow
    assert _retype(api, ds["id"], "x", "categorical")["ml_tasks_updated"] == [task["id"]]
    assert _settings(api, task)["features"]["x"]["type"] == "categorical"
    _retype(api, ds["id"], "x", "numeric")
    assert _settings(api, task)["features"]["x"]["type"] == "numeric"
