"""Issue 14 in the web UI: security headers, logout that revokes, one-time login links, workers' session ids,
and the page's bounded dry run."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Api, configure
from tests.webui.conftest import Web, location
from tests.webui.support import design_form


def test_every_page_has_a_csp_and_may_not_be_framed(web: Web, task: dict[str, Any]) -> None:
    pages = ["/", "/login", "/workers", "/projects/P1", f"/ml-tasks/{task['id']}/design", "/projects/NOPE"]
    for path in pages:
        r = web.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp, path
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff", path
    api = web.api.get("/api/v1/projects")
    assert api.headers["x-frame-options"] == "DENY"
    docs = web.get("/docs")
    assert "https:" not in docs.headers["content-security-policy"]  # Swagger UI is served from here (issue 19)


def test_tensorboard_keeps_its_own_policy_and_its_own_frames() -> None:
    from server.api.security_headers import headers_for

    for path in ("/sessions/3/tensorboard/", "/api/v1/ml-tasks/abcdefgh/tensorboard/data/runs"):
        headers = dict(headers_for(path))
        assert headers[b"x-frame-options"] == b"SAMEORIGIN"
        assert headers[b"content-security-policy"] == b"frame-ancestors 'self'"  # added to TensorBoard's own
    assert dict(headers_for("/sessions/3"))[b"x-frame-options"] == b"DENY"


def test_templates_have_no_inline_script_handler_or_javascript_url() -> None:
    from webui.web import HERE

    for template in (HERE / "templates").glob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name


def test_a_session_cookie_copied_before_logout_is_refused_after(web: Web) -> None:
    copied = dict(web.client.cookies)
    assert location(web.post("/logout")) == "/login"
    thief = TestClient(web.client.app, raise_server_exceptions=False, cookies=copied)
    assert location(thief.get("/", headers={"accept": "text/html"}, follow_redirects=False)).startswith("/login")
    r = thief.get("/api/v1/projects")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    fresh = Web(TestClient(web.client.app), web.api)
    fresh.login("owner", "owner-pw")  # logging in again works, with a new cookie
    assert fresh.get("/").status_code == 200


def test_a_login_link_logs_in_once_and_only_while_fresh(api: Api, monkeypatch: Any) -> None:
    from server.db import session_scope
    from server.models import ApiToken

    first = TestClient(api.client.app)
    assert location(first.get(f"/login?token={api.token}", follow_redirects=False)) == "/"
    again = TestClient(api.client.app).get(f"/login?token={api.token}", follow_redirects=False)
    assert again.status_code == 401 and "not valid any more" in again.text
    assert api.get("/api/v1/projects").status_code == 200  # the token itself still works for the API
    old = api.user("olga")
    with session_scope() as db:
        row = db.query(ApiToken).filter(ApiToken.user.has(username="olga")).one()
        row.created_at = row.created_at - timedelta(days=2)
    assert TestClient(api.client.app).get(f"/login?token={old}", follow_redirects=False).status_code == 401
    configure(monkeypatch, api.settings.home, login_link_ttl_s=str(3 * 86400))
    assert location(TestClient(api.client.app).get(f"/login?token={old}", follow_redirects=False)) == "/"


def test_workers_show_only_the_sessions_the_caller_may_read(web: Web, task: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import WorkerRecord, utcnow

    mine = web.api.post(f"/api/v1/ml-tasks/{task['id']}/train", json={}).json()["id"]
    web.api.post("/api/v1/projects", json={"key": "P2", "name": "other"})
    stranger = web.api.user("stranger", "P2", "admin")
    with session_scope() as db:
        db.add(
            WorkerRecord(
                name="w1@h",
                hostname="h",
                queues=["cpu"],
                gpus=[],
                current_sessions=[mine, 987654],
                last_heartbeat=utcnow(),
            )
        )
    owner_view = web.api.get("/api/v1/workers").json()[0]
    assert owner_view["current_sessions"] == [mine] and owner_view["busy"] == 2  # 987654: no such session
    other_view = web.api.get("/api/v1/workers", token=stranger).json()[0]
    assert other_view["current_sessions"] == [] and other_view["busy"] == 2
    page = web.get("/workers").text
    assert f"session={mine}" in page and "987654" not in page and "1 other session" in page
    outsider = Web(TestClient(web.client.app), web.api)
    outsider.login("stranger", "pw-stranger")
    page = outsider.get("/workers").text
    assert f"session {mine}" not in page and "2 other sessions" in page
    web.api.post(f"/api/v1/sessions/{mine}/abort")


def test_the_page_dry_run_without_a_worker_answers_202_to_poll(
    web: Web, task: dict[str, Any], monkeypatch: Any
) -> None:
    from server.services import dry_run

    configure(monkeypatch, web.api.settings.home, dry_run_wait_s="0.3")
    form = design_form(web, task["id"])
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "dry_run"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["ok"] is None and body["status"] == "queued" and body["poll_url"].startswith("/api/v1/dry-runs/")
    polled = web.client.get(body["poll_url"])
    assert polled.status_code == 200 and polled.json()["status"] == "queued"
    assert dry_run.slots.waiting() == 0
