"""A multipart upload (fields `name` and `file`) streamed to a temporary file, then stored off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError

from server.api import form_stream
from server.api.raw_upload import too_large
from server.errors import insufficient_storage, is_disk_full
from server.services import storage
from server.settings import Settings

Stored = TypeVar("Stored")


def named_file_body(title: str, file_description: str) -> dict[str, object]:
    """The OpenAPI request body of such an upload (the route parses it itself, so FastAPI cannot describe it)."""
    properties = {
        "name": {"type": "string", "maxLength": 200, "title": "Name"},
        "file": {"type": "string", "format": "binary", "title": "File", "description": file_description},
    }
    schema = {"type": "object", "title": title, "required": ["name", "file"], "properties": properties}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


async def receive_named_file(
    request: Request,
    settings: Settings,
    check_filename: Callable[[str], object],
    store: Callable[[str, str, Path], Stored],
    what: str,
) -> Stored:
    """Parse the body ourselves (the file is written once, straight to a temporary file), then STORE(name, filename,
    path) in a thread: parsing and storing take seconds for a big file. A full disk is 507 naming WHAT; the temporary
    file is always removed."""
    tmp = storage.upload_tmp(settings)
    try:
        with open(tmp, "wb") as out:
            form = await form_stream.receive_form(
                request,
                out,
                file_field="file",
                required=["name", "file"],
                check_filename=check_filename,
                limit=settings.max_upload_mb << 20,
                too_large=lambda: too_large(settings),
            )
        return await run_in_threadpool(store, form.fields["name"], form.filename or "", tmp)
    except (OSError, SQLAlchemyError) as exc:
        if is_disk_full(exc):  # partial files are removed here and by the store functions
            raise insufficient_storage(what) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
