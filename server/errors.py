"""The one error type services raise; the API turns it into the spec's JSON shape."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_FULL_TEXT = ("no space left on device", "database or disk is full", "disk quota exceeded", "could not extend file")


class ApiError(Exception):
    """An error a client can act on: HTTP status, snake_case code, a sentence, optional field errors."""

    def __init__(self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors

    def __reduce__(self) -> tuple[type[ApiError], tuple[int, str, str, list[dict[str, Any]] | None]]:
        # An upload's parse runs in another process (parse_process.py): its errors come back pickled.
        return (ApiError, (self.status, self.code, self.detail, self.errors))

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


def insufficient_storage(what: str = "The server") -> ApiError:
    """507: the disk the data goes to is full; nothing partial was kept."""
    return ApiError(
        507,
        "insufficient_storage",
        f"{what} ran out of disk space; nothing was stored. Free space (or ask the operator to) and retry.",
    )


def without_paths(text: str, upload: Path) -> str:
    """TEXT (a reader's error about the file UPLOAD) with the server's paths left out: the file as "the file", its
    folder as "…"."""
    return text.replace(str(upload), "the file").replace(str(upload.parent), "…")


def is_disk_full(exc: BaseException | None) -> bool:
    """True when EXC, or an exception it was raised from or wraps (SQLAlchemy's .orig), means a full disk."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        text = str(exc).lower()
        if any(t in text for t in _FULL_TEXT) or getattr(exc, "sqlstate", None) == "53100":
            return True
        orig = getattr(exc, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen and is_disk_full(orig):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
