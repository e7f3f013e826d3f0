"""Credentials are checked before a body is read, and JSON bodies have their own limit, enforced while streaming."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import configure
from tests.server.api.support import API, BAD_TOKEN, expect, expect_error

HUGE = 300 << 20


def call_unread(app: Any, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], int]:
    """Send METHOD PATH with HEADERS (declaring a body that never comes) to the ASGI APP.

    Returns (status, response headers, how many times the app asked for the body).
    """
    asked = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, asked


def _json(api: Any) -> dict[str, str]:
    return {**api.headers(), "content-type": "application/json"}


JSON_HEADERS = {"content-type": "application/json", "content-length": str(HUGE)}


def test_an_unauthenticated_huge_json_body_is_401_without_being_read(api: Any) -> None:
    status, headers, asked = call_unread(api.client.app, "POST", f"{API}/projects", JSON_HEADERS)
    assert (status, asked) == (401, 0)
    assert headers["www-authenticate"] == "Bearer"


def test_a_huge_body_with_a_bad_token_is_401_without_being_read(api: Any) -> None:
    headers = {**JSON_HEADERS, "authorization": f"Bearer {BAD_TOKEN}"}
    status, _, asked = call_unread(api.client.app, "POST", f"{API}/projects", headers)
    assert (status, asked) == (401, 0)
    status, _, asked = call_unread(
        api.client.app, "PUT", f"{API}/projects/X/members/y", {**headers, "authorization": "Basic eA=="}
    )
    assert (status, asked) == (401, 0)


def test_an_unauthenticated_huge_upload_and_form_post_are_refused_without_being_read(api: Any) -> None:
    multipart = {"content-type": "multipart/form-data; boundary=x", "content-length": str(HUGE)}
    status, _, asked = call_unread(api.client.app, "POST", f"{API}/projects/DEMO/datasets", multipart)
    assert (status, asked) == (401, 0)
    form = {"content-type": "application/x-www-form-urlencoded", "content-length": str(HUGE)}
    status, headers, asked = call_unread(api.client.app, "POST", "/projects", form)
    assert (status, asked) == (303, 0)
    assert headers["location"].startswith("/login?next=")
    chunked = {"content-type": "application/json", "transfer-encoding": "chunked"}
    status, _, asked = call_unread(api.client.app, "POST", f"{API}/projects", chunked)
    assert (status, asked) == (401, 0)


def test_an_authenticated_json_body_over_the_json_limit_is_413_before_it_is_read(api: Any) -> None:
    headers = {**JSON_HEADERS, "authorization": f"Bearer {api.token}", "content-length": str(2 << 20)}
    status, _, asked = call_unread(api.client.app, "POST", f"{API}/projects", headers)
    assert (status, asked) == (413, 0)
    r = api.client.post(f"{API}/projects", content=b"{" + b" " * (2 << 20) + b"}", headers=_json(api))
    assert "FITSTUDIO_MAX_JSON_MB" in expect_error(r, 413, "too_large")["detail"]


def test_a_chunked_json_body_is_cut_off_at_the_json_limit(api: Any) -> None:
    headers = {"content-type": "application/json", "transfer-encoding": "chunked", **api.headers()}
    status, _, asked = call_unread(api.client.app, "POST", f"{API}/projects", headers)  # endless 64 KiB chunks
    assert status == 413
    assert asked == (1 << 20) // 65536 + 1  # read up to the limit, not one chunk more


def test_json_bodies_under_the_limit_and_the_login_form_still_work(api: Any) -> None:
    expect(api.post(f"{API}/projects", json={"key": "OK", "name": "n" * 100}), 201)
    r = api.client.post("/login", data={"username": "owner", "password": "owner-pw"}, follow_redirects=False)
    assert r.status_code in (303, 401), r.text  # the password form is public: answered, not refused unread


def test_predict_bodies_have_their_own_limit(api: Any) -> None:
    rows = {"rows": [{"x": "y" * 1000} for _ in range(2000)]}  # 2 MB: over the JSON limit, under the predict one
    r = api.client.post(
        f"{API}/trained-models/nosuchmodel/predict", content=json.dumps(rows).encode(), headers=_json(api)
    )
    expect_error(r, 404)


def test_the_json_limit_is_a_setting(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api.settings.home, max_json_mb="3")
    body = b'{"key": "BIG2", "name": "n"' + b" " * (2 << 20) + b"}"
    r = api.client.post(f"{API}/projects", content=body, headers=_json(api))
    expect(r, 201)
