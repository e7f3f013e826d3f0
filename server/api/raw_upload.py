"""Receive a raw request body (a file PUT as is) into a file, counted against FITSTUDIO_MAX_UPLOAD_MB."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from server.errors import ApiError
from server.settings import Settings

FLUSH_EVERY = 1 << 20


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
