"""Service endpoints, authentication and the error contract that every route shares (api.md "Auth", "Errors",
"Service")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.server.api import support
from tests.server.api.support import API, BAD_TOKEN, expect, expect_error

# --- service endpoints ---------------------------------------------------------------------------------------------


def test_healthz_is_200_without_a_token(api: Any) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_is_503_with_the_reason_when_no_worker_sends_a_heartbeat(api: Any) -> None:
    r = api.client.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json() == {
        "status": "not_ready",
        "checks": {
            "sql": "ok",
            "broker": "ok",
            "workers": "no live worker: none has sent a heartbeat in the last 60 s",
            "disk": "ok",
        },
    }


def _worker_row(name: str, seconds_ago: float = 0, **values: Any) -> Any:
    from datetime import timedelta

    from server.models import WorkerRecord, utcnow

    isolated = {"isolation": "bubblewrap 0.8.0: own namespaces", "isolated": True, "accepts_trainings": True}
    return WorkerRecord(
        name=name,
        hostname="host",
        queues=["cpu"],
        gpus=[],
        current_sessions=[],
        last_heartbeat=utcnow() - timedelta(seconds=seconds_ago),
        **{**isolated, **values},
    )


def test_readyz_counts_only_a_beating_worker_that_takes_trainings(api: Any) -> None:
    from server.db import session_scope
    from server.models import utcnow

    refusal = "cannot isolate user code: bwrap not found (apt-get install bubblewrap)"
    with session_scope() as db:
        db.add(_worker_row("stopped@host", stopped_at=utcnow()))
        db.add(_worker_row("silent@host", seconds_ago=61))
        db.add(_worker_row("refusing@host", isolation=refusal, isolated=False, accepts_trainings=False))
    r = api.client.get("/readyz")
    assert r.status_code == 503, r.text
    reason = r.json()["checks"]["workers"]
    assert reason.startswith("no live worker: every worker that sends a heartbeat refuses trainings"), reason
    assert f"refusing@host: {refusal}" in reason and "FITSTUDIO_TRAINING_SANDBOX=false" in reason
    assert "silent@host" not in reason and "stopped@host" not in reason
    with session_scope() as db:
        db.add(_worker_row("opted-out@host", isolation="sandbox disabled by the operator", isolated=False))
    r = api.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"sql": "ok", "broker": "ok", "workers": "ok", "disk": "ok"}}


def test_readyz_says_when_the_disk_is_nearly_full(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from server.settings import get_settings

    free_mb = shutil.disk_usage(get_settings().home).free >> 20
    monkeypatch.setattr(get_settings(), "ready_min_free_disk_mb", free_mb + 1024)  # more than the disk has
    r = api.client.get("/readyz")
    assert r.status_code == 503, r.text
    disk = r.json()["checks"]["disk"]
    assert disk.startswith("low: ") and "FITSTUDIO_READY_MIN_FREE_DISK_MB" in disk, disk


def test_workers_shows_each_workers_state_and_isolation(api: Any) -> None:
    from server.db import session_scope

    with session_scope() as db:
        db.add(_worker_row("alive@host"))
        db.add(_worker_row("silent@host", seconds_ago=120))
        refusing = {"isolation": "cannot isolate user code", "isolated": False, "accepts_trainings": False}
        db.add(_worker_row("refusing@host", **refusing))
    rows = {w["name"]: w for w in expect(api.get(f"{API}/workers"), 200)}
    states = {name: w["state"] for name, w in rows.items()}
    assert states == {"alive@host": "alive", "silent@host": "silent", "refusing@host": "refusing"}
    assert rows["alive@host"]["isolation"] == "bubblewrap 0.8.0: own namespaces"
    assert rows["alive@host"]["isolated"] is True and rows["alive@host"]["accepts_trainings"] is True
    assert rows["refusing@host"]["isolated"] is False and rows["refusing@host"]["accepts_trainings"] is False


def test_workers_is_an_empty_list_when_no_worker_ran(api: Any) -> None:
    assert expect(api.get(f"{API}/workers"), 200) == []


def test_workers_needs_a_token(api: Any) -> None:
    expect_error(api.client.get(f"{API}/workers"), 401)
    expect_error(api.client.get(f"{API}/workers", headers=support.auth_headers(BAD_TOKEN)), 401)


def test_workers_is_visible_to_any_authenticated_user(api: Any) -> None:
    nobody = api.user("nobody")
    assert expect(api.get(f"{API}/workers", token=nobody), 200) == []


def test_openapi_document_is_served(api: Any) -> None:
    r = api.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/v1/projects", "/api/v1/datasets/{dataset_id}", "/api/v1/ml-tasks/{mltask_id}/train"):
        assert path in paths


# --- Host header ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz", f"{API}/projects", f"{API}/workers"])
def test_a_foreign_host_header_is_refused_with_400_json(api: Any, path: str) -> None:
    r = api.client.get(path, headers={**api.headers(), "host": "evil.example"})
    body = expect_error(r, 400)
    assert body["code"] == "bad_host"
    assert "evil.example" in body["detail"]


@pytest.mark.parametrize("host", ["evil.example:80", "testserver.evil.example", "127.0.0.1.evil.example", ""])
def test_host_headers_that_only_look_allowed_are_refused(api: Any, host: str) -> None:
    expect_error(api.client.get("/healthz", headers={"host": host}), 400, "bad_host")


@pytest.mark.parametrize("host", ["testserver", "localhost:8000", "127.0.0.1:8000", "LOCALHOST"])
def test_allowed_host_headers_pass(api: Any, host: str) -> None:
    assert api.client.get("/healthz", headers={"host": host}).status_code == 200


def test_a_foreign_host_cannot_write(api: Any) -> None:
    r = api.client.post(f"{API}/projects", json={"key": "EVIL"}, headers={**api.headers(), "host": "evil.example"})
    expect_error(r, 400, "bad_host")
    assert expect(api.get(f"{API}/projects"), 200) == []


# --- authentication ------------------------------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(api: Any) -> None:
    r = api.client.get(f"{API}/projects")
    expect_error(r, 401)
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize(
    "header",
    [f"Bearer {BAD_TOKEN}", "Bearer ", "Bearer", "Basic b3duZXI6b3duZXItcHc=", "Token abc", "bearer", "  "],
    ids=["unknown-token", "empty-token", "scheme-only", "basic-auth", "other-scheme", "lower-scheme-only", "blank"],
)
def test_bad_authorization_headers_are_401(api: Any, header: str) -> None:
    expect_error(api.client.get(f"{API}/projects", headers={"Authorization": header}), 401)


def test_the_bearer_scheme_is_case_insensitive(api: Any) -> None:
    assert api.client.get(f"{API}/projects", headers={"Authorization": f"bearer {api.token}"}).status_code == 200


def test_a_token_of_another_user_identifies_that_user(api: Any, project: str) -> None:
    other = api.user("olga")
    assert expect(api.get(f"{API}/projects", token=other), 200) == []
    assert [p["key"] for p in expect(api.get(f"{API}/projects"), 200)] == [project]


def test_a_revoked_token_is_401(api: Any) -> None:
    from server.db import session_scope
    from server.models import ApiToken
    from server.services import auth

    token = api.user("rex")
    assert api.get(f"{API}/projects", token=token).status_code == 200
    with session_scope() as db:
        user = auth.get_user(db, "rex")
        row = db.query(ApiToken).filter(ApiToken.user_id == user.id).one()
        auth.revoke_token(db, user, row.id)
    expect_error(api.get(f"{API}/projects", token=token), 401)


def test_auth_is_checked_before_the_body_is_validated(api: Any) -> None:
    r = api.client.post(f"{API}/projects", json={"key": "lower case"})
    expect_error(r, 401)


# --- error contract ------------------------------------------------------------------------------------------------


def test_unknown_path_is_404_json(api: Any) -> None:
    for path in (f"{API}/nothing-here", "/api/v2/projects", f"{API}/projects/DEMO/unknown"):
        expect_error(api.get(path), 404, "not_found")


def test_wrong_method_is_405_json(api: Any) -> None:
    r = api.client.request("PATCH", f"{API}/projects", headers=api.headers(), json={})
    expect_error(r, 405)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/projects"),
        ("PUT", "/projects/DEMO/members/owner"),
        ("POST", "/projects/DEMO/analyses"),
    ],
)
def test_malformed_json_is_400_everywhere(api: Any, project: str, method: str, path: str) -> None:
    for payload in (b"{", b"{'a': 1}", b"[1,", b"\x00"):
        body = expect_error(support.send_raw(api, method, API + path, payload), 400)
        assert "json" in body["detail"].lower()


def test_error_bodies_are_json_even_when_the_client_asks_for_html(api: Any) -> None:
    r = api.client.get(f"{API}/projects/NOPE", headers={**api.headers(), "accept": "text/html"})
    expect_error(r, 404, "not_found")


def test_error_shape_helper_rejects_what_the_spec_forbids() -> None:
    """The helper every test relies on really fails on a 500 and on bodies that are not {detail, code[, errors]}."""
    request = httpx.Request("GET", "http://testserver/x")

    def response(status: int, **kw: Any) -> httpx.Response:
        return httpx.Response(status, request=request, **kw)

    support.check_response(response(404, json={"detail": "No such thing.", "code": "not_found"}))
    support.check_response(
        response(
            422,
            json={
                "detail": "Bad.",
                "code": "invalid",
                "errors": [{"cell": "architecture", "line": 2, "message": "SyntaxError"}],
            },
        )
    )
    bad = [
        response(500, json={"detail": "Internal error.", "code": "internal_error"}),
        response(404, text="<html>Not Found</html>", headers={"content-type": "text/html"}),
        response(404, json={"detail": "Not Found"}),
        response(404, json={"detail": "x", "code": "NotFound"}),
        response(404, json={"detail": ["x"], "code": "not_found"}),
        response(404, json={"detail": "x", "code": "not_found", "extra": 1}),
        response(422, json={"detail": "x", "code": "invalid", "errors": [{"msg": "no field"}]}),
    ]
    for r in bad:
        with pytest.raises(AssertionError):
            support.check_response(r)
