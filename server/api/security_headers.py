"""Security headers on every response: a Content-Security-Policy, X-Frame-Options, nosniff, Referrer-Policy.

The web UI loads only its own scripts (webui/static, no inline script or handler); inline `style` attributes are
allowed. TensorBoard's pages keep the policy TensorBoard sets itself (its inline scripts by hash, 'unsafe-eval'),
may be framed by their own origin (plugin iframes) and nothing else. /docs and /redoc load Swagger UI and ReDoc
from this server (server/api/docs_assets.py) with an inline bootstrap script.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGES_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
TENSORBOARD_CSP = "frame-ancestors 'self'"  # added to TensorBoard's own policy (both are enforced)
TENSORBOARD_PATH = re.compile(r"^(/api/v1)?/(sessions|ml-tasks)/[^/]+/tensorboard(/|$)")
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers a response to PATH gets."""
    if TENSORBOARD_PATH.match(path):
        return [(b"content-security-policy", TENSORBOARD_CSP.encode()), (b"x-frame-options", b"SAMEORIGIN")]
    policy = DOCS_CSP if path in DOCS_PATHS else PAGES_CSP
    return [(b"content-security-policy", policy.encode()), (b"x-frame-options", b"DENY"), *COMMON]


class SecurityHeadersMiddleware:
    """Adds headers_for(path) to every HTTP response (a header the app set itself is kept, except the CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap send to add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                added = [(k, v) for k, v in extra if k == b"content-security-policy" or k not in present]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)
