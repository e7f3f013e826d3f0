"""Pages of the list endpoints: `limit` and `cursor` chain to exactly the whole list, `Link` and `X-Next-Cursor`
point at the next page, no `limit` answers everything, and a bad cursor or limit is an error, never a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.security.support import SMALL_CSV, fabricate_trained_model
from tests.server.api.support import API, create_analysis, create_ml_task, expect, expect_error, train, upload


def _pages(api: Any, path: str, limit: int, **params: Any) -> list[list[Any]]:
    """Every page of PATH, LIMIT items at a time, following the Link header; each page's cursor checked too."""
    pages, url, query = [], f"{API}{path}", {"limit": limit, **params}
    while True:
        r = api.get(url, params=query)
        pages.append(expect(r, 200))
        link = r.headers.get("link")
        if link is None:
            assert "x-next-cursor" not in r.headers
            return pages
        match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert match, link
        assert f"cursor={r.headers['x-next-cursor']}" in match.group(1)
        url, query = match.group(1), None


def _ids(items: list[Any], field: str | None = "id") -> list[Any]:
    return [i[field] if field else i for i in items]


@pytest.fixture
def world(api: Any) -> dict[str, Any]:
    """Project PAGE with 7 datasets, 5 analyses (on datasets 2…6), 4 ML tasks and 5 queued sessions of one of them."""
    expect(api.post(f"{API}/projects", json={"key": "PAGE"}), 201)
    for key in ("ZETA", "ALPHA", "MID"):  # projects listed by key, not by creation
        expect(api.post(f"{API}/projects", json={"key": key}), 201)
    datasets = [expect(upload(api, "PAGE", f"d{i}", SMALL_CSV, "s.csv"), 201)["id"] for i in range(7)]
    analyses = [create_analysis(api, "PAGE", d, f"a{d}")["id"] for d in datasets[2:]]
    tasks = [create_ml_task(api, analyses[0], "label", name=f"t{i}")["id"] for i in range(4)]
    sessions = [train(api, tasks[1])["id"] for _ in range(5)]
    return {"datasets": datasets, "analyses": analyses, "tasks": tasks, "sessions": sessions}


def test_pages_chain_to_exactly_the_whole_list(api: Any, world: dict[str, Any]) -> None:
    task, analysis = world["tasks"][1], world["analyses"][0]
    cases = [
        ("/projects/PAGE/datasets", "id", world["datasets"], [3, 3, 1]),
        ("/projects/PAGE/analyses", "id", world["analyses"], [2, 2, 1]),
        (f"/analyses/{analysis}/ml-tasks", "id", world["tasks"], [3, 1]),
        (f"/ml-tasks/{task}/sessions", "id", world["sessions"][::-1], [2, 2, 1]),  # newest first
        ("/projects", "key", ["ALPHA", "MID", "PAGE", "ZETA"], [3, 1]),
    ]
    for path, field, expected, sizes in cases:
        whole = expect(api.get(f"{API}{path}"), 200)
        assert _ids(whole, field) == expected, path
        limit = sizes[0]
        pages = _pages(api, path, limit)
        assert [len(p) for p in pages] == sizes, path
        assert [i for p in pages for i in _ids(p, field)] == expected, path
        assert [i for p in pages for i in p] == whole, path  # the same items, whole, as without pages


def test_no_limit_answers_everything_without_link(api: Any, world: dict[str, Any]) -> None:
    r = api.get(f"{API}/projects/PAGE/datasets")
    assert len(expect(r, 200)) == 7 and "link" not in r.headers
    r = api.get(f"{API}/projects/PAGE/datasets", params={"limit": 7})
    assert len(expect(r, 200)) == 7 and "link" not in r.headers


def test_an_item_deleted_between_pages_skips_nothing_else(api: Any, world: dict[str, Any]) -> None:
    r = api.get(f"{API}/projects/PAGE/datasets", params={"limit": 2})
    first = _ids(expect(r, 200))
    assert api.delete(f"{API}/datasets/{first[-1]}").status_code == 204  # the cursor's own item
    rest = [i for p in _pages(api, "/projects/PAGE/datasets", 2, cursor=r.headers["x-next-cursor"]) for i in _ids(p)]
    assert first + rest == world["datasets"]


def test_other_lists_page_too(api: Any, world: dict[str, Any]) -> None:
    for name in ("f1", "f2", "f3"):
        expect(api.post(f"{API}/projects/PAGE/folders", json={"name": name}), 201)
    pages = _pages(api, "/projects/PAGE/folders", 2)
    assert [f["name"] for p in pages for f in p] == ["f1", "f2", "f3"] and len(pages) == 2
    from server.db import session_scope
    from server.services import auth

    with session_scope() as db:
        for _ in range(2):
            auth.create_token(db, auth.get_user(db, "owner"), "more")
    tmids = [fabricate_trained_model(api, world["tasks"][0], real_keras=False) for _ in range(3)]
    tokens, trained = "/tokens", f"/ml-tasks/{world['tasks'][0]}/trained-models"
    for path, n in ((tokens, 3), (trained, 3), ("/workers", 0), ("/weights", 0), ("/projects/PAGE/saved-models", 0)):
        whole = expect(api.get(f"{API}{path}"), 200)
        assert len(whole) == n and [i for p in _pages(api, path, 2) for i in p] == whole, path
    assert expect(api.get(f"{API}{trained}"), 200) == tmids
    events = expect(api.get(f"{API}/projects/PAGE/audit", params={"limit": 1000}), 200)
    assert len(events) > 12
    audit = _pages(api, "/projects/PAGE/audit", 5)
    assert [e["id"] for p in audit for e in p] == [e["id"] for e in events]
    assert len(audit) == -(-len(events) // 5)


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor!", "eyJ4IjoxfQ", "WyJBTFBIQSJd", "W10", "W251bGxd"],
    ids=["garbage", "an-object", "a-string-key-on-ids", "empty", "null"],
)
def test_a_bad_cursor_is_400(api: Any, world: dict[str, Any], cursor: str) -> None:
    expect_error(api.get(f"{API}/projects/PAGE/datasets", params={"limit": 2, "cursor": cursor}), 400, "bad_cursor")


def test_a_cursor_of_another_list_or_a_bad_limit_is_refused(api: Any, world: dict[str, Any]) -> None:
    projects_cursor = api.get(f"{API}/projects", params={"limit": 1}).headers["x-next-cursor"]
    expect_error(api.get(f"{API}/projects/PAGE/datasets", params={"cursor": projects_cursor}), 400, "bad_cursor")
    expect_error(api.get(f"{API}/projects/PAGE/audit", params={"cursor": projects_cursor}), 400, "bad_cursor")
    for limit in ("0", "1001", "-3", "many"):
        expect_error(api.get(f"{API}/projects/PAGE/analyses", params={"limit": limit}), 422, "invalid_request")


def test_the_python_client_follows_the_pages(api: Any, world: dict[str, Any]) -> None:
    from fitstudio.client import Client

    seen: list[str] = []
    client = Client("http://testserver", api.token, transport=api.client._transport, page_size=2)
    client._http.event_hooks["response"].append(lambda r: seen.append(str(r.request.url)))
    assert [d["id"] for d in client.get_project("PAGE").list_datasets()] == world["datasets"]
    assert len(seen) == 4 and "cursor=" in seen[-1]
    sessions = client.get_project("PAGE").client.list_all(f"/ml-tasks/{world['tasks'][1]}/sessions")
    assert [s["id"] for s in sessions] == world["sessions"][::-1]
    whole = Client("http://testserver", api.token, transport=api.client._transport)
    assert [p["key"] for p in whole.list_projects()] == ["ALPHA", "MID", "PAGE", "ZETA"]
