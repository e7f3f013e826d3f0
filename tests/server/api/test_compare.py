"""Comparing sessions (GET /ml-tasks/{id}/compare) and a session's tags and note (PATCH /sessions/{id})."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api import support
from tests.server.api.support import API, expect, expect_error

NOTE_LINE = "# one more idea: a wider first layer"


def _patch(api: Any, session_id: int, body: Any, token: str | None = None) -> Any:
    return api.client.patch(f"{API}/sessions/{session_id}", headers=api.headers(token), json=body)


def _set_history(session_id: int, history: list[dict[str, Any]]) -> None:
    """Store HISTORY as the worker stores epochs (no worker runs in these tests)."""
    from server.db import session_scope
    from server.models import TrainingSession

    with session_scope() as db:
        db.get(TrainingSession, session_id).history = history


@pytest.fixture
def two_sessions(api: Any, ml_task: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """s1 on the default design; s2 with 7 epochs and one more line in the architecture; both with a history."""
    first = support.train(api, ml_task["id"])
    settings = ml_task["settings"]
    code = {**settings["code"], "architecture": settings["code"]["architecture"] + "\n" + NOTE_LINE + "\n"}
    expect(api.put(f"{API}/ml-tasks/{ml_task['id']}/settings", json={"training": {"epochs": 7}, "code": code}), 200)
    second = support.train(api, ml_task["id"])
    _set_history(first["id"], [{"epoch": 1, "loss": 0.7, "val_loss": 0.6, "Test ROC AUC": 0.81}])
    _set_history(
        second["id"],
        [
            {"epoch": 1, "loss": 0.6, "val_loss": 0.65, "Test ROC AUC": 0.7},
            {"epoch": 2, "loss": 0.5, "val_loss": 0.62, "Test ROC AUC": 0.93},
        ],
    )
    return first, second


def test_compare_shows_metrics_histories_and_what_differs_in_the_designs(
    api: Any, ml_task: dict[str, Any], two_sessions: Any
) -> None:
    first, second = two_sessions
    body = expect(
        api.get(f"{API}/ml-tasks/{ml_task['id']}/compare?sessions={second['number']},s{first['number']}"), 200
    )
    assert [s["number"] for s in body["sessions"]] == [second["number"], first["number"]]  # the order asked for
    assert [len(s["history"]) for s in body["sessions"]] == [2, 1]
    assert body["sessions"][0]["metrics"] == {"loss": 0.5, "val_loss": 0.62, "Test ROC AUC": 0.93}
    assert body["sessions"][1]["design"]["settings"]["training"]["epochs"] == ml_task["settings"]["training"]["epochs"]
    # Best in each metric's direction: AUC higher, losses lower.
    assert body["best"] == {
        "Test ROC AUC": [second["number"]],
        "loss": [second["number"]],
        "val_loss": [first["number"]],
    }
    diff = {d["path"]: d for d in body["design_diff"]}
    # The early-stopping defaults follow the epochs (docs/decisions.md), so they differ too; nothing else does.
    assert {"training.epochs", "code.architecture"} <= set(diff)
    assert all(path.startswith(("training.", "code.architecture")) for path in diff), sorted(diff)
    assert diff["training.epochs"] == {
        "path": "training.epochs",
        "kind": "setting",
        "values": [7, ml_task["settings"]["training"]["epochs"]],
        "diffs": None,
    }
    code = diff["code.architecture"]
    assert code["kind"] == "code" and NOTE_LINE in code["values"][0] and NOTE_LINE not in code["values"][1]
    (only,) = code["diffs"]
    assert only["number"] == first["number"]  # each later session against the first one asked for
    assert f"-{NOTE_LINE}" in only["lines"] and not any(
        line.startswith("+") and "idea" in line for line in only["lines"]
    )
    assert only["lines"][:2] == [f"--- s{second['number']}", f"+++ s{first['number']}"]


def test_identical_designs_have_an_empty_diff(api: Any, ml_task: dict[str, Any]) -> None:
    a, b = support.train(api, ml_task["id"]), support.train(api, ml_task["id"])
    body = expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/compare?sessions={a['number']},{b['number']}"), 200)
    assert body["design_diff"] == [] and body["best"] == {}
    assert [s["metrics"] for s in body["sessions"]] == [{}, {}]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?sessions=",
        "?sessions=1,x",
        "?sessions=0",
        "?sessions=-1",
        "?sessions=1,,2",
        "?sessions=" + ",".join(str(n) for n in range(1, 12)),
        "?sessions=99999999999999999999999",
    ],
)
def test_malformed_or_too_many_session_numbers_are_422(api: Any, ml_task: dict[str, Any], query: str) -> None:
    body = expect_error(api.get(f"{API}/ml-tasks/{ml_task['id']}/compare{query}"), 422)
    assert body["errors"][0]["field"] == "sessions"


def test_an_unknown_session_number_or_ml_task_is_404(api: Any, ml_task: dict[str, Any]) -> None:
    s = support.train(api, ml_task["id"])
    body = expect_error(
        api.get(f"{API}/ml-tasks/{ml_task['id']}/compare?sessions={s['number']},{s['number'] + 5}"), 404
    )
    assert f"sessions/{s['number'] + 5}" in body["detail"]
    expect_error(api.get(f"{API}/ml-tasks/nosuchid/compare?sessions=1"), 404)


def test_compare_needs_read_access_to_the_project(api: Any, project: str, ml_task: dict[str, Any]) -> None:
    s = support.train(api, ml_task["id"])
    path = f"{API}/ml-tasks/{ml_task['id']}/compare?sessions={s['number']}"
    expect_error(api.get(path, token=api.user("stranger")), 404)
    assert expect(api.get(path, token=api.user("reader1", project, "reader")), 200)["sessions"][0]["id"] == s["id"]


def test_tags_and_note_round_trip_and_show_in_the_session_the_list_and_compare(
    api: Any, ml_task: dict[str, Any]
) -> None:
    s = support.train(api, ml_task["id"])
    assert expect(api.get(f"{API}/sessions/{s['id']}"), 200)["tags"] == []
    body = expect(_patch(api, s["id"], {"tags": [" baseline ", "lr-0.01", "baseline"], "note": "  first try  "}), 200)
    assert (body["tags"], body["note"]) == (["baseline", "lr-0.01"], "first try")
    again = expect(api.get(f"{API}/sessions/{s['id']}"), 200)
    assert (again["tags"], again["note"]) == (["baseline", "lr-0.01"], "first try")
    listed = expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions"), 200)
    assert listed[0]["tags"] == ["baseline", "lr-0.01"] and listed[0]["note"] == "first try"
    # A field left out stays; an empty one clears.
    assert expect(_patch(api, s["id"], {"note": ""}), 200)["tags"] == ["baseline", "lr-0.01"]
    compared = expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/compare?sessions={s['number']}"), 200)["sessions"][0]
    assert (compared["tags"], compared["note"]) == (["baseline", "lr-0.01"], "")


@pytest.mark.parametrize(
    "body",
    [
        {"tags": "baseline"},
        {"tags": [""]},
        {"tags": ["   "]},
        {"tags": ["a,b"]},
        {"tags": ["x" * 41]},
        {"tags": [f"t{i}" for i in range(21)]},
        {"tags": [3]},
        {"note": "x" * 4001},
        {"note": 5},
        {"colour": "red"},
        [],
    ],
)
def test_bad_tags_or_note_are_422_and_change_nothing(api: Any, ml_task: dict[str, Any], body: Any) -> None:
    s = support.train(api, ml_task["id"])
    expect(_patch(api, s["id"], {"tags": ["kept"], "note": "kept"}), 200)
    expect_error(_patch(api, s["id"], body), 422)
    after = expect(api.get(f"{API}/sessions/{s['id']}"), 200)
    assert (after["tags"], after["note"]) == (["kept"], "kept")


def test_only_writers_set_tags(api: Any, project: str, ml_task: dict[str, Any]) -> None:
    s = support.train(api, ml_task["id"])
    expect_error(_patch(api, s["id"], {"tags": ["x"]}, token=api.user("reader2", project, "reader")), 403)
    expect_error(_patch(api, s["id"], {"tags": ["x"]}, token=api.user("stranger2")), 404)
    expect(_patch(api, s["id"], {"tags": ["x"]}, token=api.user("writer2", project, "writer")), 200)
    expect_error(_patch(api, 999999, {"tags": ["x"]}), 404)


def test_the_python_client_compares_and_sets_tags_and_notes(
    api: Any, ml_task: dict[str, Any], two_sessions: Any
) -> None:
    from fitstudio.client import Client, InvalidRequest, MLTask, NotFound

    first, second = two_sessions
    ml = MLTask(Client("http://testserver", api.token, transport=api.client._transport), ml_task["id"])
    body = ml.compare([first["number"], f"s{second['number']}"])
    assert [s["number"] for s in body["sessions"]] == [first["number"], second["number"]]
    assert "training.epochs" in {d["path"] for d in body["design_diff"]}
    assert ml.set_session_tags(first["id"], ["baseline"])["tags"] == ["baseline"]
    after = ml.set_session_note(first["id"], "the first one")
    assert (after["tags"], after["note"]) == (["baseline"], "the first one")
    with pytest.raises(InvalidRequest):
        ml.set_session_tags(first["id"], ["a,b"])
    with pytest.raises(NotFound):
        ml.compare([first["number"], 77])
