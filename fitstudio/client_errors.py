"""The Python client's errors: one class per kind of API error answer (fitstudio.client exports them)."""

from __future__ import annotations

from typing import Any

import httpx


class FitstudioError(Exception):
    """An error answer of the API, with its HTTP status, `code` and `detail`."""

    def __init__(self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []


class AuthenticationError(FitstudioError):
    """401: no token, or a token that is unknown or revoked."""


class PermissionDenied(FitstudioError):
    """403: the token's user lacks the role for this."""


class NotFound(FitstudioError):
    """404: no such resource, or one the user cannot see."""


class Conflict(FitstudioError):
    """409: the resource's state forbids the action."""


class InvalidRequest(FitstudioError):
    """400/413/415/422: the request or its content is not acceptable."""


class TrainingFailed(FitstudioError):
    """wait_train_complete saw the session end failed or aborted."""


_ERRORS = {401: AuthenticationError, 403: PermissionDenied, 404: NotFound, 409: Conflict}


def checked(response: httpx.Response) -> httpx.Response:
    """RESPONSE, or the FitstudioError its error answer names."""
    if response.status_code < 400:
        return response
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500], "code": "http_error"}
    cls = _ERRORS.get(response.status_code, InvalidRequest if response.status_code < 500 else FitstudioError)
    raise cls(response.status_code, body.get("code", "error"), body.get("detail", ""), body.get("errors"))
