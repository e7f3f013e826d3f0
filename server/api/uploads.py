"""A multipart upload (fields `name` and `file`) streamed to a temporary file, then stored off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar, cast

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


class _Head:
    """A file object that keeps only the first LIMIT bytes written to it (a sniff reads only the file's head)."""

    def __init__(self, out: BinaryIO, limit: int):
        self.out, self.left = out, limit

    def write(self, data: bytes) -> int:
        """Write what still fits; say all of DATA was taken."""
        if self.left > 0:
            self.out.write(data[: self.left])
            self.left -= min(len(data), self.left)
        return len(data)


async def receive_named_file(
    request: Request,
    settings: Settings,
    check_filename: Callable[[str], object],
    store: Callable[[str, str, Path], Stored],
    what: str,
) -> Stored:
    """receive_form_file with the fields name and file: STORE(name, filename, path)."""
    return await receive_form_file(
        request, settings, check_filename, lambda fields, filename, tmp: store(fields["name"], filename, tmp), what
    )


async def receive_form_file(
    request: Request,
    settings: Settings,
    check_filename: Callable[[str], object],
    store: Callable[[dict[str, str], str, Path], Stored],
    what: str,
    required: tuple[str, ...] = ("name", "file"),
    head: Callable[[str], int] | None = None,
) -> Stored:
    """Parse the body ourselves (the file is written once, straight to a temporary file; only its first
    HEAD(filename) bytes when HEAD is given), then STORE(fields, filename, path) in a thread: parsing and storing
    take seconds for a big file. A full disk is 507 naming WHAT; the temporary file is always removed."""
    tmp = storage.upload_tmp(settings)
    try:
        with open(tmp, "wb") as fh:
            kept = _Head(fh, 0)

            def check(filename: str) -> None:
                check_filename(filename)
                if head is not None:
                    kept.left = head(filename)

            form = await form_stream.receive_form(
                request,
                fh if head is None else cast(BinaryIO, kept),
                file_field="file",
                required=list(required),
                check_filename=check,
                limit=settings.max_upload_mb << 20,
                too_large=lambda: too_large(settings),
            )
        return await run_in_threadpool(store, form.fields, form.filename or "", tmp)
    except (OSError, SQLAlchemyError) as exc:
        if is_disk_full(exc):  # partial files are removed here and by the store functions
            raise insufficient_storage(what) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
