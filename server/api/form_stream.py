"""Receive a multipart/form-data upload straight into a file: one file field streamed to disk, text fields in memory.

Starlette's form parser spools a file into a temporary file (a thread hop per 64 KB chunk once past 1 MB) that the
route then copies; this writes the file part once, where the caller wants it, in 1 MiB writes off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from server.errors import ApiError

FIELD_MAX = 64 << 10  # a text field (a dataset name) has no business being larger
FLUSH_EVERY = 1 << 20
MAX_PARTS = 100


@dataclass
class Received:
    """What the form held: its text fields, and the file field's filename and size (None: no file part came)."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0


def _invalid(names: list[str], message: str, detail: str | None = None) -> ApiError:
    """422 invalid_request with MESSAGE for each field of NAMES, in the shape of FastAPI's validation errors."""
    errors = [{"field": name, "message": message} for name in names]
    return ApiError(422, "invalid_request", detail or f"Invalid request: {names[0]}: {message}.", errors)


def _malformed(why: str) -> ApiError:
    return ApiError(400, "malformed_multipart", f"The multipart/form-data body is malformed: {why}. Resend it.")


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid([what], "not valid UTF-8 text") from None


class _Parts:
    """python-multipart callbacks: collect headers and text fields, queue the file field's bytes."""

    def __init__(
        self,
        received: Received,
        file_field: str,
        check_filename: Callable[[str], Any],
        limit: int,
        too_large: Callable[[], ApiError],
    ):
        self.received = received
        self.file_field = file_field
        self.check_filename = check_filename
        self.limit = limit
        self.too_large = too_large
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.name = ""
        self.is_file = False
        self.skip = False
        self.data = bytearray()
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.parts = 0
        self.ended = False

    def callbacks(self) -> dict[str, Any]:
        """The callback table MultipartParser takes."""
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _malformed(f"more than {MAX_PARTS} parts")
        self.disposition, self.name, self.is_file, self.skip = b"", "", False, False
        self.data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        # python-multipart refuses a header line over 4 KiB itself (MultipartParseError: a 400 below).
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise _malformed('a part has no Content-Disposition name="…"')
        self.name = _decode(options[b"name"], "field name")
        if self.name == self.file_field:
            if self.received.filename is not None:
                raise _invalid([self.file_field], "send exactly one file")
            self.is_file = True
            filename = _decode(options.get(b"filename", b""), self.file_field)
            self.check_filename(filename)  # refuse a file we cannot read before its bytes arrive
            self.received.filename = filename
        elif b"filename" in options:
            self.skip = True  # a file in a field nobody asked for: not stored

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.skip:
            return
        if self.is_file:
            self.received.size += end - start
            if self.received.size > self.limit:
                raise self.too_large()
            self.pending.append(data[start:end])
            self.pending_size += end - start
            return
        self.data += data[start:end]
        if len(self.data) > FIELD_MAX:
            raise _invalid([self.name], "a text field may hold at most 64 KiB")

    def on_part_end(self) -> None:
        if not self.is_file and not self.skip:
            self.received.fields.setdefault(self.name, _decode(bytes(self.data), self.name))

    def on_end(self) -> None:
        self.ended = True

    def take(self) -> bytes:
        """The file bytes queued so far, as one block."""
        block = b"".join(self.pending)
        self.pending.clear()
        self.pending_size = 0
        return block


def _boundary(request: Request, required: list[str]) -> bytes:
    content_type = request.headers.get("content-type", "")
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise _invalid(
            required,
            "Field required",
            f"Send the upload as multipart/form-data with the fields {', '.join(required)} "
            f"(the request's Content-Type is {content_type or 'missing'!r}).",
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed("the Content-Type has no boundary")
    return boundary


async def receive_form(
    request: Request,
    out: BinaryIO,
    *,
    file_field: str,
    required: list[str],
    check_filename: Callable[[str], Any],
    limit: int,
    too_large: Callable[[], ApiError],
) -> Received:
    """Stream REQUEST's multipart body: FILE_FIELD's bytes go to OUT, the other text fields are returned.

    CHECK_FILENAME runs on the file's name as soon as its headers arrive (it raises to refuse); more than LIMIT file
    bytes raise TOO_LARGE(); a field of REQUIRED missing is a 422 naming it; a malformed body is a 400.
    """
    received = Received()
    parts = _Parts(received, file_field, check_filename, limit, too_large)
    parser = MultipartParser(_boundary(request, required), parts.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.pending_size >= FLUSH_EVERY:
                await run_in_threadpool(out.write, parts.take())
        parser.finalize()
    except MultipartParseError as exc:
        raise _malformed(str(exc).rstrip(".") or "it does not follow RFC 7578") from None
    if not parts.ended:
        raise _malformed("it ends before its closing boundary")
    if parts.pending_size:
        await run_in_threadpool(out.write, parts.take())
    missing = [name for name in required if name != file_field and name not in received.fields]
    if file_field in required and received.filename is None:
        missing.append(file_field)
    if missing:
        raise _invalid(missing, "Field required")
    return received
