"""Refuse requests whose Host header is not an allowed host (no DNS rebinding)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class AllowedHostsMiddleware:
    """ASGI middleware: 400 JSON unless the Host (without port) is in ALLOWED; '*' allows any."""

    def __init__(self, app: ASGIApp, allowed: list[str]):
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    def _host_ok(self, host: str) -> bool:
        if "*" in self.allowed:
            return True
        host = host.strip().lower()
        if host.startswith("["):
            name = host[1 : host.find("]")] if "]" in host else host
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in self.allowed or any(a.startswith("*.") and name.endswith(a[1:]) for a in self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not self._host_ok(host):
                response = JSONResponse(
                    {"detail": f"Host {host!r} is not allowed; add it to FITSTUDIO_ALLOWED_HOSTS.", "code": "bad_host"},
                    status_code=400,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
