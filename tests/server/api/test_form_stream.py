"""The dataset upload's own multipart reader (server/api/form_stream.py): what it keeps, what it refuses, and when."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from server.api import form_stream
from tests.server.api.support import API, auth_headers, expect, expect_error

BOUNDARY = "fsb0undary"


def part(name: str, content: bytes, filename: str | None = None, headers: str = "") -> bytes:
    """One multipart part."""
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{headers}\r\n".encode() + content + b"\r\n"


def body(*parts: bytes) -> bytes:
    """PARTS closed by the final boundary."""
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post(api: Any, project: str, content: bytes | Iterator[bytes], boundary: str = BOUNDARY) -> Any:
    """POST CONTENT as a multipart body to the project's datasets."""
    headers = {**auth_headers(api.token), "content-type": f"multipart/form-data; boundary={boundary}"}
    return api.client.post(f"{API}/projects/{project}/datasets", headers=headers, content=content)


def leftovers(api: Any) -> list[str]:
    """Files left in the uploads folder (every request must clean up its temporary file)."""
    folder = api.settings.data_root / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def rows_csv(n: int) -> bytes:
    """An n-row CSV with an id and a label."""
    return b"id,label\n" + b"".join(f"{i},{'ab'[i % 2]}\n".encode() for i in range(n))


def test_a_file_larger_than_one_flush_arrives_whole(api: Any, project: str) -> None:
    payload = rows_csv(400_000)
    assert len(payload) > 2 * form_stream.FLUSH_EVERY
    ds = expect(post(api, project, body(part("name", b"big"), part("file", payload, "big.csv"))), 201)
    assert ds["n_rows"] == 400_000
    preview = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=3"), 200)
    assert preview["rows"] == [[0, "a"], [1, "b"], [2, "a"]]
    assert leftovers(api) == []


def test_a_body_sent_in_tiny_pieces_gives_the_same_dataset(api: Any, project: str) -> None:
    """Boundaries and headers split across chunks at every offset are still found."""
    whole = body(part("name", "tiny é".encode()), part("file", rows_csv(50), "t.csv"))

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(whole), 7):
            yield whole[i : i + 7]

    ds = expect(post(api, project, pieces()), 201)
    assert (ds["name"], ds["n_rows"]) == ("tiny é", 50)


def test_fields_may_come_in_any_order_and_unknown_ones_are_ignored(api: Any, project: str) -> None:
    content = body(
        part("file", rows_csv(5), "a.csv"),
        part("comment", b"ignored"),
        part("attachment", b"not stored", "other.bin"),
        part("name", b"ordered"),
    )
    ds = expect(post(api, project, content), 201)
    assert (ds["name"], ds["n_rows"]) == ("ordered", 5)
    assert [c["name"] for c in ds["columns"]] == ["id", "label"]


class Pulled:
    """A request whose body is CONTENT in 64 KiB messages, counting what the reader pulled."""

    def __init__(self, content: bytes):
        self.content, self.pulled = content, 0

    async def receive(self) -> dict[str, Any]:
        chunk = self.content[self.pulled : self.pulled + (64 << 10)]
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.pulled < len(self.content)}

    def read(self, check: Any, limit: int) -> tuple[Any, bytes]:
        """Run receive_form over the body; (the exception raised or the result, what reached the file)."""
        import anyio
        from starlette.requests import Request

        from server.errors import ApiError

        headers = [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]
        request = Request({"type": "http", "method": "POST", "headers": headers}, self.receive)
        sink = io.BytesIO()

        async def run() -> Any:
            return await form_stream.receive_form(
                request,
                sink,
                file_field="file",
                required=["name", "file"],
                check_filename=check,
                limit=limit,
                too_large=lambda: ApiError(413, "too_large", "over"),
            )

        try:
            return anyio.run(run), sink.getvalue()
        except ApiError as exc:
            return exc, sink.getvalue()


def test_an_unreadable_file_type_is_refused_before_its_bytes_are_read() -> None:
    """The filename is checked when the file part's headers arrive; the reader stops pulling the body there."""
    from server.errors import ApiError

    def refuse(filename: str) -> None:
        raise ApiError(415, "unsupported_file", f"{filename} is not a dataset")

    req = Pulled(body(part("name", b"exe"), part("file", b"x" * (8 << 20), "tool.exe")))
    result, written = req.read(refuse, 1 << 30)
    assert isinstance(result, ApiError) and result.status == 415
    assert req.pulled <= 64 << 10, f"read {req.pulled} bytes of a file it refused by its name"
    assert written == b""


def test_a_file_over_the_limit_stops_the_reader_at_the_limit() -> None:
    from server.errors import ApiError

    req = Pulled(body(part("name", b"big"), part("file", b"y" * (8 << 20), "big.csv")))
    result, written = req.read(lambda _name: None, 2 << 20)
    assert isinstance(result, ApiError) and result.status == 413
    assert req.pulled <= (2 << 20) + (64 << 10) and len(written) <= 2 << 20


def test_the_reader_returns_the_fields_and_writes_the_file_bytes_exactly() -> None:
    payload = bytes(range(256)) * 20_000  # binary, with CR/LF and dashes, over several flushes
    received, written = Pulled(body(part("name", b"raw"), part("file", payload, "r.parquet"))).read(str, 1 << 30)
    assert received.fields == {"name": "raw"} and received.filename == "r.parquet"
    assert received.size == len(payload) and written == payload


@pytest.mark.parametrize(
    ("content", "status", "code", "field"),
    [
        (body(part("name", b"x")), 422, "invalid_request", "file"),
        (body(part("file", b"a\n1\n", "a.csv")), 422, "invalid_request", "name"),
        (
            body(part("name", b"x"), part("file", b"a\n1\n", "a.csv"), part("file", b"b\n2\n", "b.csv")),
            422,
            "invalid_request",
            "file",
        ),
        (body(part("name", b"\xff\xfe"), part("file", b"a\n1\n", "a.csv")), 422, "invalid_request", "name"),
        (
            body(part("name", b"n" * (form_stream.FIELD_MAX + 1)), part("file", b"a\n1\n", "a.csv")),
            422,
            "invalid_request",
            "name",
        ),
    ],
    ids=["no-file", "no-name", "two-files", "name-not-utf8", "name-over-64k"],
)
def test_a_form_missing_or_misusing_a_field_is_422_naming_it(
    api: Any, project: str, content: bytes, status: int, code: str, field: str
) -> None:
    err = expect_error(post(api, project, content), status, code)
    assert field in [e["field"] for e in err["errors"]], err
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []
    assert leftovers(api) == []


def test_a_file_part_without_a_filename_is_415_asking_for_a_known_type(api: Any, project: str) -> None:
    err = expect_error(post(api, project, body(part("name", b"x"), part("file", b"a\n1\n"))), 415)
    assert ".csv" in err["detail"]


@pytest.mark.parametrize(
    ("content", "boundary"),
    [
        (b"this is not multipart at all", BOUNDARY),
        (part("name", b"x") + part("file", rows_csv(10), "cut.csv"), BOUNDARY),  # no closing boundary
        (b"--" + BOUNDARY.encode() + b"\r\nno-colon-header\r\n\r\nx\r\n--" + BOUNDARY.encode() + b"--\r\n", BOUNDARY),
        (f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(), BOUNDARY),
        (body(part("name", b"x"), part("file", b"a\n1\n", "a.csv")), ""),
    ],
    ids=["garbage", "truncated", "bad-header", "part-without-name", "no-boundary"],
)
def test_a_malformed_body_is_400_and_leaves_nothing(api: Any, project: str, content: bytes, boundary: str) -> None:
    err = expect_error(post(api, project, content, boundary), 400, "malformed_multipart")
    assert "multipart" in err["detail"]
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []
    assert leftovers(api) == []


def test_a_non_multipart_body_is_422_naming_both_fields(api: Any, project: str) -> None:
    headers = {**auth_headers(api.token), "content-type": "text/csv"}
    r = api.client.post(f"{API}/projects/{project}/datasets", headers=headers, content=b"a,b\n1,2\n")
    err = expect_error(r, 422, "invalid_request")
    assert {e["field"] for e in err["errors"]} == {"name", "file"}
    assert "multipart/form-data" in err["detail"]


def test_an_upload_without_a_token_is_401_before_the_body_is_parsed(api: Any, project: str) -> None:
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    r = api.client.post(f"{API}/projects/{project}/datasets", headers=headers, content=b"garbage")
    expect_error(r, 401)


def test_the_openapi_document_declares_the_multipart_fields(api: Any) -> None:
    doc = api.client.app.openapi()
    body_ = doc["paths"][f"{API}/projects/{{key}}/datasets"]["post"]["requestBody"]
    schema = body_["content"]["multipart/form-data"]["schema"]
    assert body_["required"] is True and set(schema["required"]) == {"name", "file"}
    assert schema["properties"]["file"]["format"] == "binary"


def test_an_over_long_part_header_is_400(api: Any, project: str) -> None:
    content = body(part("name", b"x", headers="X-Pad: " + "p" * (64 << 10) + "\r\n"), part("file", b"a\n1\n", "a.csv"))
    expect_error(post(api, project, content), 400, "malformed_multipart")
    assert leftovers(api) == []
