"""Strict Host headers (no DNS rebinding, no smuggled authorities) and the client address behind trusted proxies."""

from __future__ import annotations

import ipaddress
import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# A Host header is a DNS name or IPv4 address, or a bracketed IPv6 address, then an optional numeric port.
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,252})$")
_PORT = re.compile(r"^[0-9]{1,5}$")


def parse_host(value: str) -> str | None:
    """The lower-case host name of a Host header VALUE, or None when it is not exactly `host[:port]`."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    else:
        name, sep, port = value.partition(":")
        rest = f":{port}" if sep else ""
        if not _NAME.match(name):
            return None
    if rest:
        port = rest[1:]
        if not rest.startswith(":") or not _PORT.match(port) or int(port) > 65535:
            return None
    return name.lower()


class AllowedHostsMiddleware:
    """ASGI middleware: 400 JSON unless there is exactly one well-formed Host header naming an allowed host.

    Userinfo (`a@b`), lists (`a, b`), non-numeric ports and a second Host header are refused whatever ALLOWED
    says; '*' in ALLOWED allows any well-formed name, '*.example.com' a domain.
    """

    def __init__(self, app: ASGIApp, allowed: list[str]):
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    def _allowed(self, name: str) -> bool:
        if "*" in self.allowed or name in self.allowed:
            return True
        return any(a.startswith("*.") and name.endswith(a[1:]) for a in self.allowed)

    def problem(self, scope: Scope) -> str | None:
        """Why the request's Host header is refused, or None when it is fine."""
        values = [v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"host"]
        hint = "send one Host header naming a host of FITSTUDIO_ALLOWED_HOSTS"
        if len(values) != 1:
            return f"The request has {len(values)} Host headers; {hint}."
        name = parse_host(values[0])
        if name is None:
            return f"Host {values[0]!r} is not a host name with an optional numeric port; {hint}."
        if not self._allowed(name):
            return f"Host {values[0]!r} is not allowed; add it to FITSTUDIO_ALLOWED_HOSTS."
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            why = self.problem(scope)
            if why is not None:
                response = JSONResponse({"detail": why, "code": "bad_host"}, status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue
    return out


def _trusted(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in networks)


UNTRUSTED_FORWARDER = "untrusted-forwarder"


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The address to count a client by (rate limits): the peer, or behind FITSTUDIO_TRUSTED_PROXIES the nearest
    X-Forwarded-For entry that is not a trusted proxy.

    A server that rewrote the peer from X-Forwarded-For itself (uvicorn's default for 127.0.0.1) leaves the peer
    equal to one of the header's entries; unless that came through a trusted proxy, such requests share one key.
    """
    peer = request.client.host if request.client else "unknown"
    forwarded = [a.strip() for v in request.headers.getlist("x-forwarded-for") for a in v.split(",") if a.strip()]
    if not forwarded:
        return peer
    networks = _networks(trusted_proxies)
    if _trusted(peer, networks):
        for address in reversed(forwarded):
            if not _trusted(address, networks):
                return address
        return forwarded[0]
    if peer in forwarded and not _trusted(peer, networks):
        return UNTRUSTED_FORWARDER
    return peer
