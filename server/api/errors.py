"""Exception handlers: every error leaves as {"detail", "code"} JSON (api.md), never an HTML page or a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.errors import ApiError, insufficient_storage, is_disk_full

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_file",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
    507: "insufficient_storage",
}


def _validation_body(exc: RequestValidationError) -> tuple[int, dict[str, object]]:
    errs = exc.errors()
    if errs and all(e.get("loc", ("",))[0] == "path" for e in errs):
        return 404, {"detail": "No such resource: an id in the path is not valid.", "code": "not_found"}
    if any(e.get("type") == "json_invalid" for e in errs):
        return 400, {"detail": "The request body is not valid JSON.", "code": "malformed_json"}
    fields = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())[1:] or e.get("loc", ())),
            "message": str(e.get("msg", "invalid")),
        }
        for e in errs
    ]
    first = fields[0] if fields else {"field": "body", "message": "invalid"}
    detail = f"Invalid request: {first['field'] or 'body'}: {first['message']}."
    return 422, {"detail": detail, "code": "invalid_request", "errors": fields}


def install(app: FastAPI) -> None:
    """Register the handlers on APP."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=_auth_header(exc.status))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such path; see /docs for the API."
        elif exc.status_code == 405:
            detail = "This method is not allowed on this path; see /docs for the API."
        code = _CODES.get(exc.status_code, "error")
        return JSONResponse(
            {"detail": detail, "code": code}, status_code=exc.status_code, headers=_auth_header(exc.status_code)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, body = _validation_body(exc)
        return JSONResponse(body, status_code=status)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_disk_full(exc):  # ENOSPC from a write, SQLite's "database or disk is full", PostgreSQL's 53100
            log.error("disk full on %s %s: %s", request.method, request.url.path, exc)
            return JSONResponse(insufficient_storage().body(), status_code=507)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "Internal error; it has been logged. Please report it.", "code": "internal_error"},
            status_code=500,
        )

    # Storage errors are answered where routes' errors are (a full disk is a 507, not a 500 the server re-raises).
    app.add_exception_handler(OSError, _unexpected)  # type: ignore[arg-type]
    app.add_exception_handler(SQLAlchemyError, _unexpected)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)  # type: ignore[arg-type]


def _auth_header(status: int) -> dict[str, str] | None:
    return {"WWW-Authenticate": "Bearer"} if status == 401 else None
