"""The one error type services raise; the API turns it into the spec's JSON shape."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error a client can act on: HTTP status, snake_case code, a sentence, optional field errors."""

    def __init__(self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body: {detail, code} plus errors when there are any."""
        out: dict[str, Any] = {"detail": self.detail, "code": self.code}
        if self.errors:
            out["errors"] = self.errors
        return out


def not_found(what: str, ident: object) -> ApiError:
    """404 for a resource that does not exist or that the caller may not see."""
    return ApiError(404, "not_found", f"No {what} {ident!r} exists, or you cannot see it. Check the id.")


def conflict(code: str, detail: str) -> ApiError:
    """409: the resource's state forbids the action."""
    return ApiError(409, code, detail)


def invalid(detail: str, errors: list[dict[str, Any]] | None = None, code: str = "invalid") -> ApiError:
    """422: the content is well-formed but not acceptable."""
    return ApiError(422, code, detail, errors)
