"""GET /ml-tasks/{id}/sessions at scale (issue 23): summary columns only (no design is ever loaded, histories only
for the page's rows), a page cut in SQL (server/api/pagination.sql_page) that walks every session exactly once even
when the sort key ties, and cursors that are not this list's are 400 bad_cursor, never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, inspect, update

from server.api.pagination import PageParams, encode_cursor, sql_page
from server.db import session_scope
from server.models import MLTask, TrainingSession
from server.services import session_list
from tests.helpers import count_queries
from tests.server.api import support
from tests.server.api.support import API, expect, expect_error

LOGS = [{"epoch": e, "loss": 1 / e, "val_loss": 2 / e, "Test ROC AUC": 0.5 + e / 100} for e in range(1, 4)]


def _sessions(api: Any, task_id: str, n: int) -> list[int]:
    """N sessions of TASK_ID, each with a history of its own (as a worker writes one), oldest first."""
    ids = [support.train(api, task_id)["id"] for _ in range(n)]
    with session_scope() as db:
        for i in ids:
            db.execute(update(TrainingSession).where(TrainingSession.id == i).values(history=LOGS[: i % 4]))
    return ids


def _list(api: Any, task_id: str, **params: Any) -> Any:
    return api.get(f"{API}/ml-tasks/{task_id}/sessions", params=params)


def test_list_items_are_the_sessions_as_get_session_answers_them(api: Any, ml_task: dict[str, Any]) -> None:
    ids = _sessions(api, ml_task["id"], 4)
    listed = expect(_list(api, ml_task["id"]), 200)
    assert [s["id"] for s in listed] == ids[::-1]  # newest first
    for item in listed:  # history, metric, submitter, queue position: exactly what the session's own route says
        assert item == expect(api.get(f"{API}/sessions/{item['id']}"), 200)
    assert any(item["history"] for item in listed) and all(item["metric"] for item in listed)


def test_the_list_never_loads_a_design_and_costs_the_same_statements_whatever_its_length(
    api: Any, ml_task: dict[str, Any]
) -> None:
    def statements() -> list[str]:
        with count_queries() as seen:
            expect(_list(api, ml_task["id"]), 200)
        return seen

    _sessions(api, ml_task["id"], 2)
    few = statements()
    _sessions(api, ml_task["id"], 5)
    many = statements()
    assert len(few) == len(many), many  # no statement per session
    for statement in many:  # an ORM row loaded whole would select these columns as training_sessions_<name>
        assert "training_sessions_design" not in statement and "training_sessions_history" not in statement
    histories = [s for s in many if "training_sessions.history" in s]
    assert len(histories) == 1 and " IN " in histories[0]  # the page's histories, in one query by id


def test_summary_rows_leave_design_and_history_unloaded(api: Any, ml_task: dict[str, Any]) -> None:
    _sessions(api, ml_task["id"], 3)
    with session_scope() as db:
        task = db.get(MLTask, ml_task["id"])
        assert task is not None
        rows, _ = sql_page(db, session_list.summary_query(task), session_list.ORDER, PageParams(2, None), True)
        assert len(rows) == 2
        for row in rows:
            unloaded = inspect(row[0]).unloaded
            assert {"design", "history"} <= unloaded and not {"status", "number", "progress"} & unloaded
            assert row.metric == "ROC AUC" and row.submitter == "owner" and row.continued_from is None


def test_keyset_walks_every_session_once_when_the_sort_key_ties(api: Any, ml_task: dict[str, Any]) -> None:
    ids = _sessions(api, ml_task["id"], 7)
    same = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    with session_scope() as db:  # all queued in the same microsecond: only the id tells them apart
        db.execute(update(TrainingSession).where(TrainingSession.id.in_(ids)).values(queued_at=same))
    columns = (TrainingSession.queued_at, TrainingSession.id)
    for descending in (False, True):
        seen, cursor, sizes = [], None, []
        with session_scope() as db:
            task = db.get(MLTask, ml_task["id"])
            assert task is not None
            while True:
                page = PageParams(3, cursor)
                rows, cursor = sql_page(db, session_list.summary_query(task), columns, page, descending)
                sizes.append(len(rows))
                seen += [r[0].id for r in rows]
                if cursor is None:
                    break
                assert json.loads(_decoded(cursor))[0] == same.timestamp()  # the tied time travels in the cursor
        assert seen == (ids[::-1] if descending else ids) and sizes == [3, 3, 1], (descending, seen, sizes)


def _decoded(cursor: str) -> str:
    import base64

    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


def test_pages_of_the_list_chain_to_the_whole_list_and_survive_a_delete(api: Any, ml_task: dict[str, Any]) -> None:
    ids = _sessions(api, ml_task["id"], 5)
    whole = expect(_list(api, ml_task["id"]), 200)
    first = _list(api, ml_task["id"], limit=2)
    assert expect(first, 200) == whole[:2] and first.headers["x-next-cursor"] == encode_cursor([whole[1]["number"]])
    with session_scope() as db:  # the cursor's own session goes (straight in SQL: a queued one cannot be deleted)
        db.execute(delete(TrainingSession).where(TrainingSession.id == ids[-2]))
    rest = _list(api, ml_task["id"], limit=2, cursor=first.headers["x-next-cursor"])
    assert [s["id"] for s in expect(rest, 200)] == ids[-3:-5:-1]
    last = _list(api, ml_task["id"], limit=2, cursor=rest.headers["x-next-cursor"])
    assert [s["id"] for s in expect(last, 200)] == ids[:1] and "link" not in last.headers


@pytest.mark.parametrize(
    "values",
    [["s3"], [True], [1.5], [10**30], [-(10**30)], [1, 2], [None], [[1]], [{"a": 1}]],
    ids=["text", "bool", "float", "huge", "minus-huge", "two-keys", "null", "list", "object"],
)
def test_a_cursor_that_is_not_this_lists_is_400(api: Any, ml_task: dict[str, Any], values: list[Any]) -> None:
    _sessions(api, ml_task["id"], 2)
    cursor = encode_cursor(values) if None not in values else "W251bGxd"  # base64 of [null]
    expect_error(_list(api, ml_task["id"], limit=1, cursor=cursor), 400, "bad_cursor")
    expect_error(_list(api, ml_task["id"], cursor=cursor), 400, "bad_cursor")  # also without a limit


def test_garbage_and_nan_cursors_are_400(api: Any, ml_task: dict[str, Any]) -> None:
    import base64

    _sessions(api, ml_task["id"], 1)
    nan = base64.urlsafe_b64encode(b"[NaN]").decode().rstrip("=")
    for cursor in ("", "!!!", "bm90IGpzb24", nan, "W10"):  # W10: []
        expect_error(_list(api, ml_task["id"], limit=1, cursor=cursor), 400, "bad_cursor")
    with session_scope() as db:  # a datetime key fed a value no datetime has
        task = db.get(MLTask, ml_task["id"])
        assert task is not None
        query, columns = session_list.summary_query(task), (TrainingSession.queued_at, TrainingSession.id)
        for values in ([1e300, 1], [float("nan"), 1], ["2026-01-01", 1]):
            cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
            with pytest.raises(Exception) as caught:
                sql_page(db, query, columns, PageParams(1, cursor))
            assert getattr(caught.value, "code", None) == "bad_cursor", values


def test_summary_pages_ties_and_bad_cursors_on_postgresql(pg_redis_settings: Any) -> None:
    from tests.conftest import make_api
    from tests.security.support import SMALL_CSV

    api = make_api(pg_redis_settings)
    with api.client:
        expect(api.post(f"{API}/projects", json={"key": "PG"}), 201)
        dataset = expect(support.upload(api, "PG", "small", SMALL_CSV, "small.csv"), 201)
        task = support.create_ml_task(api, support.create_analysis(api, "PG", dataset["id"])["id"], "label")
        ids = _sessions(api, task["id"], 5)
        whole = expect(_list(api, task["id"]), 200)
        assert [s["id"] for s in whole] == ids[::-1] and whole[0]["metric"] and whole[0]["submitted_by"] == "owner"
        assert whole == [expect(api.get(f"{API}/sessions/{i}"), 200) for i in ids[::-1]]
        first = _list(api, task["id"], limit=3)
        rest = _list(api, task["id"], limit=3, cursor=first.headers["x-next-cursor"])
        assert expect(first, 200) + expect(rest, 200) == whole and "link" not in rest.headers
        for values in (["x"], [10**30], [1.5]):
            expect_error(_list(api, task["id"], limit=1, cursor=encode_cursor(values)), 400, "bad_cursor")
        same = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        with session_scope() as db:
            db.execute(update(TrainingSession).where(TrainingSession.id.in_(ids)).values(queued_at=same))
            row = db.get(MLTask, task["id"])
            assert row is not None
            seen, cursor = [], None
            while True:
                columns = (TrainingSession.queued_at, TrainingSession.id)
                rows, cursor = sql_page(db, session_list.summary_query(row), columns, PageParams(2, cursor), True)
                seen += [r[0].id for r in rows]
                if cursor is None:
                    break
        assert seen == ids[::-1]
