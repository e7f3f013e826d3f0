"""POST /sessions/{id}/continue through HTTP (api.md "Training sessions"): who may, from which sessions, which
epochs, and the new session it queues. No worker runs here (tests/e2e/test_continue_training.py trains one)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from tests.server.api import support
from tests.server.api.support import API, expect, expect_error

HISTORY = [{"epoch": n, "loss": 1.0 / n} for n in (1, 2, 3)]


def _succeeded(api: Any, mltask_id: str, final_state: bool = True, interrupted: bool = False) -> dict[str, Any]:
    """A session that ended succeeded after 3 epochs, as a worker leaves it (with its final state on disk)."""
    from server.db import session_scope
    from server.models import TrainingSession
    from server.services import storage

    session = support.train(api, mltask_id)
    expect(api.post(f"{API}/sessions/{session['id']}/abort"), 202)  # dequeued: no second message waits for it
    with session_scope() as db:
        db.execute(
            update(TrainingSession)
            .where(TrainingSession.id == session["id"])
            .values(status="succeeded", interrupted=interrupted, history=HISTORY, trained_model_id="T-s1")
        )
    if final_state:
        final = storage.session_dir(api.settings, session["id"]) / "final"
        final.mkdir(parents=True)
        (final / "state.json").write_text('{"weights": "model.weights.h5", "completed_epochs": 3}')
    return session


def _design(session_id: int) -> dict[str, Any]:
    from server.db import session_scope
    from server.models import TrainingSession

    with session_scope() as db:
        return dict(db.get(TrainingSession, session_id).design)


@pytest.mark.parametrize("interrupted", [False, True])
def test_continuing_queues_a_new_session_that_goes_on_from_the_last_epoch(
    api: Any, ml_task: dict[str, Any], interrupted: bool
) -> None:
    support.train(api, ml_task["id"])  # session 1: source ids and numbers differ from the new one's
    source = _succeeded(api, ml_task["id"], interrupted=interrupted)
    new = expect(api.post(f"{API}/sessions/{source['id']}/continue", json={"epochs": 4}), 202)
    assert (new["status"], new["number"], new["ml_task_id"]) == ("queued", 3, ml_task["id"])
    assert new["continued_from"] == source["id"] != new["id"]
    assert new["history"] == HISTORY  # the chart goes on from where the source ended
    assert (new["progress"]["epoch"], new["progress"]["epochs"]) == (3, 7)
    design, before = _design(new["id"]), _design(source["id"])
    assert design["settings"]["training"]["epochs"] == 7
    assert design["continued_from"] == {"session_id": source["id"], "session_number": 2, "trained_model_id": "T-s1"}
    design["settings"]["training"]["epochs"] = before["settings"]["training"]["epochs"]
    assert design["settings"] == before["settings"]  # the same frozen design otherwise
    assert expect(api.get(f"{API}/sessions/{new['id']}"), 200)["continued_from"] == source["id"]
    assert expect(api.get(f"{API}/sessions/{source['id']}"), 200)["continued_from"] is None


def test_the_final_state_goes_with_its_session(api: Any, ml_task: dict[str, Any]) -> None:
    from server.services import storage

    source = _succeeded(api, ml_task["id"])
    final = storage.session_dir(api.settings, source["id"]) / "final"
    assert final.is_dir()
    expect(api.delete(f"{API}/sessions/{source['id']}"), 204)
    assert not final.exists()


def test_only_a_succeeded_session_with_its_final_state_can_be_continued(api: Any, ml_task: dict[str, Any]) -> None:
    queued = support.train(api, ml_task["id"])
    expect_error(api.post(f"{API}/sessions/{queued['id']}/continue", json={"epochs": 2}), 409, "not_continuable")
    expect(api.post(f"{API}/sessions/{queued['id']}/abort"), 202)
    expect_error(api.post(f"{API}/sessions/{queued['id']}/continue", json={"epochs": 2}), 409, "not_continuable")
    without = _succeeded(api, ml_task["id"], final_state=False)
    expect_error(api.post(f"{API}/sessions/{without['id']}/continue", json={"epochs": 2}), 409, "no_final_state")
    numbers = [s["number"] for s in expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions"), 200)]
    assert numbers == [2, 1]  # nothing queued


@pytest.mark.parametrize(
    "body",
    [
        {"epochs": 0},
        {"epochs": -3},
        {"epochs": "5"},
        {"epochs": 1.5},
        {},
        {"epochs": None},
        {"epochs": 2, "extra": 1},
        {"epochs": 100_000},
        {"epochs": 10**30},
        [],
    ],
)
def test_bad_epochs_are_422(api: Any, ml_task: dict[str, Any], body: Any) -> None:
    source = _succeeded(api, ml_task["id"])
    expect_error(api.post(f"{API}/sessions/{source['id']}/continue", json=body), 422)
    assert len(expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/sessions"), 200)) == 1


def test_readers_cannot_continue_and_strangers_do_not_see_the_session(
    api: Any, project: str, ml_task: dict[str, Any]
) -> None:
    source = _succeeded(api, ml_task["id"])
    reader, stranger = api.user("rita", project, "reader"), api.user("sam")
    expect_error(
        api.post(f"{API}/sessions/{source['id']}/continue", json={"epochs": 2}, token=reader), 403, "forbidden"
    )
    expect_error(api.post(f"{API}/sessions/{source['id']}/continue", json={"epochs": 2}, token=stranger), 404)
    expect_error(api.post(f"{API}/sessions/999999/continue", json={"epochs": 2}), 404)
    writer = api.user("wendy", project, "writer")
    new = expect(api.post(f"{API}/sessions/{source['id']}/continue", json={"epochs": 2}, token=writer), 202)
    assert new["submitted_by"] == "wendy"
