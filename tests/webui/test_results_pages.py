"""The results page in pages (issue 23): PAGE_SIZE sessions a page, cut in SQL from summary columns, older pages
through a cursor link, any session's detail by its link, and a bad cursor answered as an error page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import update

from server.db import session_scope
from server.models import TrainingSession
from tests.helpers import count_queries
from tests.webui.conftest import Web, location
from webui.pages import sessions as pages

ROW = re.compile(r'<tr data-session="(\d+)"')
LOGS = [{"epoch": 1, "loss": 0.5, "val_loss": 0.6, "Test ROC AUC": 0.75}]


@pytest.fixture
def five(web: Web, task: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Five sessions of TASK, oldest first, with histories; two rows a page."""
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    urls = [location(web.post(f"/ml-tasks/{task['id']}/train")) for _ in range(5)]
    ids = [int(u.rsplit("=", 1)[1]) for u in urls]
    with session_scope() as db:
        db.execute(update(TrainingSession).where(TrainingSession.id.in_(ids)).values(history=LOGS))
    return ids


def _older(page: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" id="older-sessions">', page)
    return match.group(1).replace("&amp;", "&") if match else None


def test_pages_of_the_results_table_walk_every_session_once(web: Web, task: dict[str, Any], five: list[int]) -> None:
    url: str | None = f"/ml-tasks/{task['id']}"
    seen, sizes = [], []
    while url:
        r = web.get(url)
        assert r.status_code == 200, r.text[:500]
        rows = [int(i) for i in ROW.findall(r.text)]
        seen += rows
        sizes.append(len(rows))
        assert f'data-session="{rows[0]}" data-live' in r.text  # the page's newest in detail
        assert ("newest-sessions" in r.text) == (len(sizes) > 1)
        url = _older(r.text)
    assert seen == five[::-1] and sizes == [2, 2, 1]
    assert "0.75" in web.get(f"/ml-tasks/{task['id']}").text  # the latest epoch's metric of a session without model


def test_a_session_off_the_page_shows_in_detail(web: Web, task: dict[str, Any], five: list[int]) -> None:
    page = web.get(f"/ml-tasks/{task['id']}?session={five[0]}").text
    assert [int(i) for i in ROW.findall(page)] == five[:2:-1]  # the newest page's rows…
    assert f'id="session-detail" class="card" style="margin-top:1rem" data-session="{five[0]}"' in page  # …s1's panel
    assert "Session s1 " in page
    for other in ("999999", "99999999999999999999999"):  # unknown or too large for SQL: the page's newest
        r = web.get(f"/ml-tasks/{task['id']}?session={other}")
        assert r.status_code in (200, 422) and "Traceback" not in r.text


def test_the_results_page_loads_no_design_but_the_detailed_ones(
    web: Web, task: dict[str, Any], five: list[int]
) -> None:
    def designs() -> tuple[int, int]:
        with count_queries() as seen:
            assert web.get(f"/ml-tasks/{task['id']}").status_code == 200
        return len(seen), sum("training_sessions_design" in s or "training_sessions_history" in s for s in seen)

    few = designs()
    pages.PAGE_SIZE = 4
    more = designs()
    assert few == more  # two or four rows: the same statements; only the detailed session's design and history
    assert few[1] <= 2


def test_a_bad_cursor_is_an_error_page(web: Web, task: dict[str, Any], five: list[int]) -> None:
    for cursor in ("!!!", "WyJ4Il0", "W3RydWVd"):  # garbage, ["x"], [true]
        r = web.get(f"/ml-tasks/{task['id']}", params={"cursor": cursor})
        assert r.status_code == 400 and "cursor" in r.text, r.text[:300]
