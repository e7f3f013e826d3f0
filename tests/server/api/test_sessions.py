"""Training submission, sessions, interrupt/abort and trained models through HTTP (api.md "Training sessions").

No worker runs in these tests: a submitted session stays `queued`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import count_queries
from tests.server.api import support
from tests.server.api.support import API, expect, expect_error, send_raw

SESSION_KEYS = {
    "id",
    "ml_task_id",
    "number",
    "status",
    "interrupted",
    "queued_at",
    "started_at",
    "ended_at",
    "worker",
    "progress",
    "history",
    "error",
    "trained_model_id",
}


def _sessions(api: Any, mltask_id: str) -> list[dict[str, Any]]:
    return expect(api.get(f"{API}/ml-tasks/{mltask_id}/sessions"), 200)


# --- train ---------------------------------------------------------------------------------------------------------


def test_train_returns_202_with_a_queued_session(api: Any, ml_task: dict[str, Any]) -> None:
    body = expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/train", json={}), 202)
    assert SESSION_KEYS <= set(body)
    assert isinstance(body["id"], int)
    assert body["ml_task_id"] == ml_task["id"]
    assert body["number"] == 1
    assert body["status"] == "queued"
    assert body["interrupted"] is False
    assert body["queued_at"]
    assert (body["started_at"], body["ended_at"], body["worker"]) == (None, None, None)
    assert body["error"] is None
    assert body["trained_model_id"] is None
    assert body["history"] == []
    assert {"epoch", "epochs", "batch", "batches"} <= set(body["progress"])
    assert body["progress"]["epochs"] == ml_task["settings"]["training"]["epochs"]


def test_train_without_a_body_is_accepted(api: Any, ml_task: dict[str, Any]) -> None:
    assert expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/train"), 202)["status"] == "queued"


def test_train_with_malformed_json_is_400_and_queues_nothing(api: Any, ml_task: dict[str, Any]) -> None:
    expect_error(send_raw(api, "POST", f"{API}/ml-tasks/{ml_task['id']}/train", b"{"), 400)
    assert _sessions(api, ml_task["id"]) == []


def test_session_numbers_count_up_per_ml_task(api: Any, analysis: dict[str, Any], ml_task: dict[str, Any]) -> None:
    other = support.create_ml_task(api, analysis["id"], "mean radius")
    assert [support.train(api, ml_task["id"])["number"] for _ in range(3)] == [1, 2, 3]
    assert support.train(api, other["id"])["number"] == 1


def _queued_messages(api: Any) -> list[str]:
    """The queue names of the messages waiting in the embedded (filesystem) broker."""
    folder = api.settings.broker_folder / "queue"
    return sorted(p.name.rsplit(".", 2)[1] for p in folder.glob("*.msg")) if folder.exists() else []


def test_train_publishes_on_the_gpu_queue_when_the_design_asks_for_a_gpu_and_on_cpu_otherwise(
    api: Any, ml_task: dict[str, Any]
) -> None:
    assert _queued_messages(api) == []
    # No worker reports a GPU here, so a new task defaults to the CPU queue (docs/decisions.md); ask for a GPU.
    assert ml_task["settings"]["gpu"]["use_gpu"] is False
    gpu = {**ml_task["settings"]["gpu"], "use_gpu": True}
    expect(api.put(f"{API}/ml-tasks/{ml_task['id']}/settings", json={"gpu": gpu}), 200)
    first = support.train(api, ml_task["id"])
    assert first.get("queue", "gpu") == "gpu"
    assert _queued_messages(api) == ["gpu"]
    gpu = {**ml_task["settings"]["gpu"], "use_gpu": False}
    expect(api.put(f"{API}/ml-tasks/{ml_task['id']}/settings", json={"gpu": gpu}), 200)
    second = support.train(api, ml_task["id"])
    assert second.get("queue", "cpu") == "cpu"
    assert _queued_messages(api) == ["cpu", "gpu"]


def test_a_refused_train_publishes_nothing(api: Any, project: str, ml_task: dict[str, Any]) -> None:
    reader = api.user("rita", project, "reader")
    expect_error(api.post(f"{API}/ml-tasks/{ml_task['id']}/train", json={}, token=reader), 403, "forbidden")
    expect_error(support.send_raw(api, "POST", f"{API}/ml-tasks/{ml_task['id']}/train", b"{"), 400)
    assert _queued_messages(api) == []
    assert _sessions(api, ml_task["id"]) == []


def test_a_session_is_a_snapshot_later_settings_edits_do_not_change_it(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    edit = {"metric": "Accuracy", "training": {"epochs": 2}}
    expect(api.put(f"{API}/ml-tasks/{ml_task['id']}/settings", json=edit), 200)
    after = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert after["progress"]["epochs"] == ml_task["settings"]["training"]["epochs"]
    if "metric" in after:
        assert after["metric"] == "ROC AUC"
    assert support.train(api, ml_task["id"])["progress"]["epochs"] == 2


def test_without_a_worker_a_submitted_session_stays_queued(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    for _ in range(3):
        assert expect(api.get(f"{API}/sessions/{session['id']}"), 200)["status"] == "queued"


# --- read ----------------------------------------------------------------------------------------------------------


def test_sessions_are_listed_newest_first(api: Any, ml_task: dict[str, Any]) -> None:
    assert _sessions(api, ml_task["id"]) == []
    ids = [support.train(api, ml_task["id"])["id"] for _ in range(3)]
    listed = _sessions(api, ml_task["id"])
    assert [s["number"] for s in listed] == [3, 2, 1]
    assert [s["id"] for s in listed] == ids[::-1]
    assert all(SESSION_KEYS <= set(s) for s in listed)


def test_get_session_by_global_id(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    body = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert SESSION_KEYS <= set(body)
    assert body == session


def test_polling_a_session_costs_two_sql_statements(api: Any, ml_task: dict[str, Any]) -> None:
    # The most polled read (results pages, clients): the token's user, then the session with the caller's role;
    # a queued session's place in line is a third (a running or ended one has none: tests/server/api/
    # test_session_phases.py).
    session = support.train(api, ml_task["id"])
    with count_queries() as statements:
        body = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert body["id"] == session["id"] and body["queue_position"] == 1
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3, statements


def test_get_session_by_number_accepts_n_and_s_n(api: Any, ml_task: dict[str, Any]) -> None:
    sessions = [support.train(api, ml_task["id"]) for _ in range(3)]
    by_id = expect(api.get(f"{API}/sessions/{sessions[2]['id']}"), 200)
    for ref in ("3", "s3", "S3"):
        body = expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions/{ref}"), 200)
        assert body == by_id, ref
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions/s1"), 200)["id"] == sessions[0]["id"]


def test_get_session_by_number_of_another_ml_task_is_404(
    api: Any, analysis: dict[str, Any], ml_task: dict[str, Any]
) -> None:
    other = support.create_ml_task(api, analysis["id"], "mean radius")
    support.train(api, ml_task["id"])
    expect_error(api.get(f"{API}/ml-tasks/{other['id']}/sessions/1"), 404, "not_found")


def test_get_session_by_an_unknown_or_malformed_number_is_404(api: Any, ml_task: dict[str, Any]) -> None:
    support.train(api, ml_task["id"])
    for ref in ("2", "s2", "0", "s0", "-1", "x", "s", "1.0", "s1s", "99999999999999999999999"):
        expect_error(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions/{ref}"), 404, "not_found")


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/interrupt"), ("POST", "/abort")])
def test_unknown_or_malformed_session_id_is_404(api: Any, method: str, suffix: str) -> None:
    for session_id in ("424242", "0", "-3", "abc", "s1", "1.5", "99999999999999999999"):
        r = api.client.request(method, f"{API}/sessions/{session_id}{suffix}", headers=api.headers())
        expect_error(r, 404, "not_found")


def test_a_session_of_a_project_the_caller_is_not_in_is_404(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    outsider = api.user("mallory")
    expect_error(api.get(f"{API}/sessions/{session['id']}", token=outsider), 404, "not_found")
    expect_error(api.post(f"{API}/sessions/{session['id']}/abort", token=outsider), 404, "not_found")
    assert expect(api.get(f"{API}/sessions/{session['id']}"), 200)["status"] == "queued"


# --- interrupt / abort ---------------------------------------------------------------------------------------------


def test_interrupting_a_queued_session_is_409_and_leaves_it_queued(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    expect_error(api.post(f"{API}/sessions/{session['id']}/interrupt"), 409, "not_running")
    after = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert (after["status"], after["interrupted"]) == ("queued", False)


def test_aborting_a_queued_session_is_202_and_it_ends_aborted(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    body = expect(api.post(f"{API}/sessions/{session['id']}/abort"), 202)
    assert body["id"] == session["id"]
    after = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert after["status"] == "aborted"
    assert after["ended_at"]
    assert after["trained_model_id"] is None
    assert after["interrupted"] is False
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions/s1"), 200)["status"] == "aborted"


def test_aborting_an_ended_session_is_409(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    expect(api.post(f"{API}/sessions/{session['id']}/abort"), 202)
    expect_error(api.post(f"{API}/sessions/{session['id']}/abort"), 409, "already_ended")
    assert expect(api.get(f"{API}/sessions/{session['id']}"), 200)["status"] == "aborted"


def test_interrupting_an_aborted_session_is_409(api: Any, ml_task: dict[str, Any]) -> None:
    session = support.train(api, ml_task["id"])
    expect(api.post(f"{API}/sessions/{session['id']}/abort"), 202)
    expect_error(api.post(f"{API}/sessions/{session['id']}/interrupt"), 409)
    after = expect(api.get(f"{API}/sessions/{session['id']}"), 200)
    assert (after["status"], after["interrupted"]) == ("aborted", False)


def test_aborting_one_session_leaves_the_others_queued(api: Any, ml_task: dict[str, Any]) -> None:
    first, second = support.train(api, ml_task["id"]), support.train(api, ml_task["id"])
    expect(api.post(f"{API}/sessions/{first['id']}/abort"), 202)
    statuses = {s["number"]: s["status"] for s in _sessions(api, ml_task["id"])}
    assert statuses == {1: "aborted", 2: "queued"}
    assert second["number"] == 2


def test_a_reader_can_read_sessions_but_not_train_interrupt_or_abort(
    api: Any, project: str, ml_task: dict[str, Any]
) -> None:
    session = support.train(api, ml_task["id"])
    reader = api.user("rita", project, "reader")
    assert expect(api.get(f"{API}/sessions/{session['id']}", token=reader), 200)["status"] == "queued"
    expect_error(api.post(f"{API}/ml-tasks/{ml_task['id']}/train", json={}, token=reader), 403, "forbidden")
    expect_error(api.post(f"{API}/sessions/{session['id']}/interrupt", token=reader), 403, "forbidden")
    expect_error(api.post(f"{API}/sessions/{session['id']}/abort", token=reader), 403, "forbidden")
    assert [s["status"] for s in _sessions(api, ml_task["id"])] == ["queued"]


def test_a_writer_can_train_and_abort(api: Any, project: str, ml_task: dict[str, Any]) -> None:
    writer = api.user("wendy", project, "writer")
    session = expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/train", json={}, token=writer), 202)
    assert session.get("submitted_by", "wendy") == "wendy"
    assert expect(api.post(f"{API}/sessions/{session['id']}/abort", token=writer), 202)["status"] == "aborted"


# --- trained models ------------------------------------------------------------------------------------------------


def test_trained_models_of_a_new_ml_task_is_an_empty_list(api: Any, ml_task: dict[str, Any]) -> None:
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/trained-models"), 200) == []
    support.train(api, ml_task["id"])
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/trained-models"), 200) == []


def test_unknown_trained_model_is_404(api: Any, ml_task: dict[str, Any]) -> None:
    support.train(api, ml_task["id"])
    well_formed = f"A-DEMO-{ml_task['analysis_id']}-{ml_task['id']}-s1-pp1-m1"
    for tmid in (well_formed, "nope", "A-DEMO-x-y-s1-pp1-m1"):
        for suffix in ("", "/location", "/download"):
            expect_error(api.get(f"{API}/trained-models/{tmid}{suffix}"), 404, "not_found")
