"""Host headers are parsed strictly; X-Forwarded-For counts only from FITSTUDIO_TRUSTED_PROXIES."""

from __future__ import annotations

from typing import Any

import pytest

from server.api.hosts import UNTRUSTED_FORWARDER, client_address, parse_host
from tests.conftest import configure
from tests.security.support import raw_asgi_request
from tests.server.api.support import expect_error


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:18300@evil.com",
        "user@localhost",
        "127.0.0.1:18300, evil.com",
        "localhost,evil.com",
        "localhost:abc",
        "localhost:",
        "localhost:99999",
        "localhost:80:80",
        "local host",
        "[::1",
        "[not-ipv6]:80",
        "localhost/x",
        "",
    ],
)
def test_malformed_host_headers_are_400(api: Any, host: str) -> None:
    r = api.client.get("/healthz", headers={"host": host})
    expect_error(r, 400, "bad_host")


def test_well_formed_hosts_are_served(api: Any) -> None:
    for host in ("localhost", "localhost:8000", "127.0.0.1:18300", "LOCALHOST:1"):
        assert api.client.get("/healthz", headers={"host": host}).status_code == 200
    assert parse_host("[::1]:8000") == "::1"


def test_two_host_headers_are_400_even_when_both_are_allowed(api: Any) -> None:
    scope_headers = {"host": "localhost"}  # raw_asgi_request adds host: testserver as well
    status, _, body = raw_asgi_request(api.client.app, "GET", "/healthz", headers=scope_headers)
    assert status == 400 and b"bad_host" in body


def test_a_wildcard_still_refuses_malformed_hosts(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from webui.app import create_app

    configure(monkeypatch, api.settings.home, allowed_hosts="*")
    client = TestClient(create_app())
    assert client.get("/healthz", headers={"host": "anything.example"}).status_code == 200
    assert client.get("/healthz", headers={"host": "a@b"}).status_code == 400


class _Req:
    """The two things client_address reads of a request."""

    def __init__(self, peer: str, forwarded: list[str]):
        self.client = type("C", (), {"host": peer})()
        self.headers = self
        self._forwarded = forwarded

    def getlist(self, _name: str) -> list[str]:
        return self._forwarded


def test_client_address_believes_x_forwarded_for_only_from_trusted_proxies() -> None:
    assert client_address(_Req("203.0.113.9", ["1.2.3.4"]), []) == "203.0.113.9"  # type: ignore[arg-type]
    trusted = ["10.0.0.0/8"]
    assert client_address(_Req("10.0.0.5", ["1.2.3.4, 10.0.0.7"]), trusted) == "1.2.3.4"  # type: ignore[arg-type]
    assert client_address(_Req("10.0.0.5", ["6.6.6.6", "1.2.3.4"]), trusted) == "1.2.3.4"  # type: ignore[arg-type]
    # the server already rewrote the peer from the header (uvicorn's default): not believed, one shared key
    assert client_address(_Req("9.9.9.9", ["9.9.9.9"]), []) == UNTRUSTED_FORWARDER  # type: ignore[arg-type]


def test_new_x_forwarded_for_values_do_not_escape_the_login_limit(api: Any) -> None:
    from server.services import ratelimit

    ratelimit.logins.clear()
    api.client.event_hooks = {"request": [], "response": []}  # the login page answers a wrong password in HTML
    statuses = []
    for i in range(15):
        r = api.client.post(
            "/login",
            data={"username": "owner", "password": "wrong"},
            headers={"x-forwarded-for": f"198.51.100.{i}"},
            follow_redirects=False,
        )
        statuses.append(r.status_code)
    ratelimit.logins.clear()
    assert 429 in statuses, statuses
