"""Authentication: revocable tokens, CSRF on web forms, session cookie flags, argon2 passwords, login rate limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.server.api.support import API, expect, expect_error

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 (still argon2id) with minimal cost: these tests log in and fail logins many times."""
    from argon2 import PasswordHasher

    from server.services import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def _browser(api: Api) -> TestClient:
    """A client for the HTML pages (they answer HTML errors, so no JSON checks on it), not following redirects."""
    return TestClient(api.client.app, raise_server_exceptions=False, follow_redirects=False)


def _new_token(name: str, label: str) -> tuple[str, int]:
    """A new token of user NAME labelled LABEL: (token, id)."""
    from sqlalchemy import select

    from server.db import session_scope
    from server.models import ApiToken
    from server.services import auth

    with session_scope() as db:
        user = auth.get_user(db, name) or auth.create_user(db, name, password=f"pw-{name}")
        token = auth.create_token(db, user, label)
        ident = db.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    assert ident is not None
    return token, ident


# Tokens ----------------------------------------------------------------------------------------------------------


def test_tokens_are_listed_without_their_secret(api: Api) -> None:
    token, ident = _new_token("owner", "laptop")
    rows = expect(api.get(f"{API}/tokens"), 200)
    mine = next(r for r in rows if r["id"] == ident)
    assert set(mine) >= {"id", "name", "prefix", "created_at", "revoked"}
    assert mine["name"] == "laptop" and mine["revoked"] is False
    assert token.startswith(mine["prefix"]) and len(mine["prefix"]) < len(token) // 2
    assert token not in str(rows)
    # Another user's tokens are not in the caller's list.
    _other, other_id = _new_token("someone", "theirs")
    assert other_id not in [r["id"] for r in expect(api.get(f"{API}/tokens"), 200)]
    # Only hashes are stored.
    from sqlalchemy import select

    from server.db import session_scope
    from server.models import ApiToken

    with session_scope() as db:
        stored = db.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)


def test_a_revoked_token_gets_401(api: Api) -> None:
    token, ident = _new_token("owner", "to revoke")
    expect(api.get(f"{API}/projects", token=token), 200)
    r = api.delete(f"{API}/tokens/{ident}")
    assert r.status_code == 204, r.text
    body = expect_error(api.get(f"{API}/projects", token=token), 401, "bad_token")
    assert "revoked" in body["detail"]
    assert next(r for r in expect(api.get(f"{API}/tokens"), 200) if r["id"] == ident)["revoked"] is True
    # Revoking again changes nothing; the caller's own token still works.
    assert api.delete(f"{API}/tokens/{ident}").status_code == 204
    expect(api.get(f"{API}/projects"), 200)


def test_a_token_can_revoke_itself(api: Api) -> None:
    token, ident = _new_token("owner", "self")
    assert api.delete(f"{API}/tokens/{ident}", token=token).status_code == 204
    expect_error(api.get(f"{API}/tokens", token=token), 401, "bad_token")


def test_another_users_token_cannot_be_revoked(api: Api) -> None:
    theirs, their_id = _new_token("victim", "theirs")
    expect_error(api.delete(f"{API}/tokens/{their_id}"), 404, "not_found")
    expect_error(api.delete(f"{API}/tokens/987654"), 404, "not_found")
    expect_error(api.delete(f"{API}/tokens/99999999999999999999999"), 404)
    expect(api.get(f"{API}/projects", token=theirs), 200)
    expect_error(api.client.delete(f"{API}/tokens/{their_id}"), 401)


def test_the_cli_revokes_a_token(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    from fitstudio import cli

    token, ident = _new_token("owner", "cli")
    assert cli.main(["tokens", "revoke", str(ident)]) == 0
    assert "revoked" in capsys.readouterr().out
    expect_error(api.get(f"{API}/projects", token=token), 401, "bad_token")
    assert cli.main(["tokens", "revoke", "987654"]) == 1


# Web sessions -------------------------------------------------------------------------------------------------


def _login(api: Api, browser: TestClient) -> str:
    """Log BROWSER in with the owner's login link; returns the page's CSRF token."""
    r = browser.get("/login", params={"token": api.token})
    assert r.status_code in (302, 303), r.text
    page = browser.get("/", headers={"accept": "text/html"}, follow_redirects=True)
    match = CSRF_META.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def test_the_session_cookie_is_httponly_and_samesite_lax(api: Api) -> None:
    r = _browser(api).get("/login", params={"token": api.token})
    assert r.status_code in (302, 303)
    cookies = [v for k, v in r.headers.multi_items() if k.lower() == "set-cookie"]
    session = next(c for c in cookies if c.startswith("fitstudio_session="))
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in session.split(";")[1:]}
    assert "httponly" in flags, session
    assert flags.get("samesite", "").lower() == "samesite=lax", session
    assert flags.get("path") == "Path=/", session
    # A bad login link sets no cookie.
    r = _browser(api).get("/login", params={"token": "fst_not-a-token"})
    assert r.status_code == 401 and "set-cookie" not in r.headers


def test_cookie_authenticated_api_writes_need_the_csrf_header(api: Api) -> None:
    browser = _browser(api)
    csrf = _login(api, browser)
    expect(browser.get(f"{API}/projects"), 200)  # reads need no token
    body = expect_error(browser.post(f"{API}/projects", json={"key": "CSRF1", "name": "x"}), 403, "csrf_failed")
    assert "CSRF" in body["detail"]
    expect_error(browser.post(f"{API}/projects", json={"key": "CSRF1"}, headers={"x-csrf-token": "forged"}), 403)
    expect(browser.post(f"{API}/projects", json={"key": "CSRF1", "name": "x"}, headers={"x-csrf-token": csrf}), 201)


def test_web_forms_need_the_csrf_field(api: Api) -> None:
    browser = _browser(api)
    csrf = _login(api, browser)
    r = browser.post("/projects", data={"key": "FORM1", "name": "x"})
    assert r.status_code == 403, r.text[:300]
    r = browser.post("/projects", data={"key": "FORM1", "name": "x", "csrf": "forged"})
    assert r.status_code == 403
    expect_error(api.get(f"{API}/projects/FORM1"), 404)
    r = browser.post("/projects", data={"key": "FORM1", "name": "x", "csrf": csrf})
    assert r.status_code in (302, 303), r.text[:300]
    expect(api.get(f"{API}/projects/FORM1"), 200)


def test_the_login_form_itself_needs_no_csrf_token(api: Api) -> None:
    r = _browser(api).post("/login", data={"username": "owner", "password": "owner-pw"})
    assert r.status_code == 303 and "fitstudio_session=" in r.headers.get("set-cookie", "")


def test_logout_without_the_csrf_token_is_refused(api: Api) -> None:
    browser = _browser(api)
    csrf = _login(api, browser)
    for form in ({}, {"csrf": "forged"}):
        r = browser.post("/logout", data=form)
        assert r.status_code == 403, (form, r.status_code, r.headers.get("location"))
    assert browser.get("/", headers={"accept": "text/html"}).status_code == 200  # still logged in
    r = browser.post("/logout", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert browser.get("/", headers={"accept": "text/html"}).status_code == 303  # logged out


def test_logout_without_a_session_just_goes_to_the_login_page(api: Api) -> None:
    r = _browser(api).post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"


# Passwords and login limits ----------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2_hashes(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from server.db import session_scope
    from server.services import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher())  # the service's own parameters

    with session_scope() as db:
        user = auth.create_user(db, "hashed", password="correct horse battery staple")
        stored = user.password_hash
    assert stored and stored.startswith("$argon2id$"), stored
    assert "correct horse" not in stored
    with session_scope() as db:
        user = auth.get_user(db, "hashed")
        assert user is not None
        assert auth.verify_password(user, "correct horse battery staple")
        assert not auth.verify_password(user, "Correct horse battery staple")


def _fail(browser: TestClient, username: str) -> Any:
    return browser.post("/login", data={"username": username, "password": "wrong"})


def test_failed_logins_are_rate_limited(api: Api) -> None:
    from server.db import session_scope
    from server.services import auth, ratelimit

    with session_scope() as db:
        auth.create_user(db, "alice", password="alice-pw")
    browser = _browser(api)
    for _ in range(ratelimit.MAX_FAILURES):
        assert _fail(browser, "alice").status_code == 401
    r = _fail(browser, "alice")
    body = expect_error(r, 429, "too_many_attempts")
    wait = int(r.headers["retry-after"])
    assert 0 < wait <= ratelimit.WINDOW_S and f"{wait} s" in body["detail"]
    # While blocked even the right password is refused (no oracle), and case does not help.
    expect_error(browser.post("/login", data={"username": "alice", "password": "alice-pw"}), 429)
    expect_error(_fail(browser, "ALICE"), 429)
    # Another user name from the same client is not blocked by alice's failures.
    assert browser.post("/login", data={"username": "owner", "password": "owner-pw"}).status_code == 303


def test_a_successful_login_resets_the_count(api: Api) -> None:
    from server.services import ratelimit

    browser = _browser(api)
    for _ in range(ratelimit.MAX_FAILURES - 1):
        assert _fail(browser, "owner").status_code == 401
    assert browser.post("/login", data={"username": "owner", "password": "owner-pw"}).status_code == 303
    for _ in range(ratelimit.MAX_FAILURES - 1):
        assert _fail(browser, "owner").status_code == 401


def test_the_limiter_window_slides() -> None:
    from server.services.ratelimit import LoginLimiter

    now = [1000.0]
    limiter = LoginLimiter(max_failures=3, max_failures_per_client=5, window_s=300, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1", "bob") == 0
        limiter.failure("10.0.0.1", "bob")
        now[0] += 10
    assert limiter.retry_after("10.0.0.1", "bob") == 300 - 30
    assert limiter.retry_after("10.0.0.2", "bob") == 0  # per client address
    now[0] += 300 - 30
    assert limiter.retry_after("10.0.0.1", "bob") == 0  # the oldest failure left the window
    # Spraying many names from one address hits the per-client limit.
    for i in range(5):
        limiter.failure("10.0.0.3", f"user{i}")
    assert limiter.retry_after("10.0.0.3", "someone-else") > 0
    limiter.success("10.0.0.3", "user0")
    assert limiter.retry_after("10.0.0.3", "someone-else") > 0  # a success does not clear the per-client count
