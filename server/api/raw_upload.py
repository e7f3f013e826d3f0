"""Receive a raw request body (a file PUT as is) into a file, counted against FITSTUDIO_MAX_UPLOAD_MB."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from server.errors import ApiError, insufficient_storage, is_disk_full
from server.services import storage
from server.settings import Settings

FLUSH_EVERY = 1 << 20
# The OpenAPI request body of such a PUT (the route reads the stream itself, so FastAPI cannot describe it).
BINARY_BODY: dict[str, Any] = {
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
Stored = TypeVar("Stored")


def too_large(settings: Settings) -> ApiError:
    """413 naming the limit."""
    return ApiError(
        413, "too_large", f"The upload is larger than {settings.max_upload_mb} MB (FITSTUDIO_MAX_UPLOAD_MB)."
    )


async def receive_file(request: Request, target: Path, settings: Settings) -> int:
    """Stream REQUEST's body into TARGET (1 MiB writes off the event loop); its size. 413 past the limit (TARGET
    is then left for the caller to remove)."""
    limit = settings.max_upload_mb << 20
    size = 0
    pending: list[bytes] = []
    pending_size = 0
    with open(target, "wb") as out:
        async for chunk in request.stream():
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise too_large(settings)
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= FLUSH_EVERY:
                await run_in_threadpool(out.write, b"".join(pending))
                pending, pending_size = [], 0
        if pending:
            await run_in_threadpool(out.write, b"".join(pending))
    return size


async def receive_and_store(request: Request, settings: Settings, store: Callable[[Path], Stored], what: str) -> Stored:
    """Stream REQUEST's body to a temporary file, then STORE(path) in a thread; a full disk is 507 naming WHAT.
    The temporary file is always removed."""
    tmp = storage.upload_tmp(settings)
    try:
        await receive_file(request, tmp, settings)
        return await run_in_threadpool(store, tmp)
    except (OSError, SQLAlchemyError) as exc:
        if is_disk_full(exc):
            raise insufficient_storage(what) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
