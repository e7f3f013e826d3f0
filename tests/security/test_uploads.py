"""Hostile uploads (operations.md "Security"): size limit, ZIP traversal and bombs, CSV edge cases, pixel bombs.

Every refusal is a 4xx with the spec's error shape (the `api` client checks that on every response), and nothing
is left anywhere under FITSTUDIO_HOME (nor beside it) after a refused upload.
"""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.security.support import (
    lying_size_zip,
    png_bytes,
    png_header_claiming,
    snapshot,
    zip_bytes,
    zip_with_many_entries,
)
from tests.server.api.support import API, expect, expect_error

KEY = "UPL"


@pytest.fixture(scope="module")
def api(module_api: Api) -> Api:
    """One API for the module (each test checks what changed around its own upload)."""
    expect(module_api.post(f"{API}/projects", json={"key": KEY, "name": "uploads"}), 201)
    return module_api


@pytest.fixture
def project(api: Api) -> str:
    return KEY


def _state(api: Api) -> dict[str, Any]:
    """Every file under HOME's parent (HOME and whatever is beside it), less the SQLite files that change anyway."""
    root = api.settings.home.parent
    return snapshot(root, skip=[f"{api.settings.home.name}/fitstudio.db"])


def _refused(
    api: Api, payload: bytes, filename: str, status: int, code: str | None = None, **fields: str
) -> dict[str, Any]:
    """Upload PAYLOAD (with the reading options FIELDS); assert STATUS (and CODE), no new dataset and no file
    written or changed anywhere."""
    before = _state(api)
    datasets_before = expect(api.get(f"{API}/projects/{KEY}/datasets"), 200)
    r = api.post(
        f"{API}/projects/{KEY}/datasets",
        data={"name": f"up-{uuid.uuid4().hex[:8]}", **fields},
        files={"file": (filename, io.BytesIO(payload), "application/octet-stream")},
    )
    body = expect_error(r, status, code)
    assert expect(api.get(f"{API}/projects/{KEY}/datasets"), 200) == datasets_before
    after = _state(api)
    new = sorted(set(after) - set(before))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not new and not changed, f"a refused upload left files: new={new[:10]} changed={changed[:10]}"
    return body


# Size limit ----------------------------------------------------------------------------------------------------


@pytest.fixture
def one_mb(api: Api, project: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API with FITSTUDIO_MAX_UPLOAD_MB=1."""
    from server.settings import get_settings

    monkeypatch.setenv("FITSTUDIO_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    assert get_settings().max_upload_mb == 1
    yield api
    monkeypatch.delenv("FITSTUDIO_MAX_UPLOAD_MB")
    get_settings.cache_clear()


def test_an_upload_over_the_limit_gets_413(one_mb: Api) -> None:
    payload = b"a,b\n" + b"1,2\n" * (2 << 19)  # 2 MB
    body = _refused(one_mb, payload, "big.csv", 413, "too_large")
    assert "1 MB" in body["detail"] and "FITSTUDIO_MAX_UPLOAD_MB" in body["detail"]
    # Just under the limit is fine.
    r = one_mb.upload_csv(KEY, f"fits-{uuid.uuid4().hex[:6]}", b"a,b\n" + b"1,2\n" * 250_000, "fits.csv")
    assert expect(r, 201)["n_rows"] == 250_000


def test_an_oversized_body_is_refused_before_it_is_read(one_mb: Api) -> None:
    """A declared Content-Length over the limit: the app answers 413 without reading one byte of the body."""
    pulled = 0
    app = one_mb.client.app

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            nonlocal pulled
            message = await receive()
            pulled += len(message.get("body", b""))
            return message

        await app(scope, counted, send)

    client = TestClient(counting, raise_server_exceptions=False)
    files = {"file": ("big.csv", io.BytesIO(b"a,b\n" + b"1,2\n" * (1 << 20)), "text/csv")}
    r = client.post(f"{API}/projects/{KEY}/datasets", headers=one_mb.headers(), data={"name": "big"}, files=files)
    assert expect_error(r, 413, "too_large")
    assert pulled == 0, f"the app read {pulled} bytes of a body it had to refuse"


def test_a_chunked_body_over_the_limit_is_cut_off(one_mb: Api) -> None:
    """Without a Content-Length the body is counted as it arrives and refused once past the limit."""

    def chunks() -> Any:
        yield b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n'
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\na,b\n'
        for _ in range(32):
            yield b"1,2\n" * (1 << 14)  # 64 KiB each, 2 MB in all
        yield b"\r\n--xyz--\r\n"

    headers = {**one_mb.headers(), "content-type": "multipart/form-data; boundary=xyz"}
    before = _state(one_mb)
    r = one_mb.client.post(f"{API}/projects/{KEY}/datasets", headers=headers, content=chunks())
    assert "content-length" not in {k.lower() for k in r.request.headers}
    expect_error(r, 413, "too_large")
    assert set(_state(one_mb)) == set(before)


# ZIP archives ----------------------------------------------------------------------------------------------------


def test_a_good_image_zip_is_accepted(api: Api, project: str) -> None:
    """The control: the archives below are refused for what is wrong with them, not for being archives."""
    r = api.upload_csv(
        KEY, f"ok-{uuid.uuid4().hex[:6]}", zip_bytes({"cat/a.png": png_bytes(), "dog/b.png": png_bytes()}), "ok.zip"
    )
    assert expect(r, 201)["kind"] == "images"


@pytest.mark.parametrize(
    "entry",
    [
        "../evil.png",
        "cat/../../evil.png",
        "cat/../../../../evil.png",
        "/tmp/fitstudio-evil.png",
        "C:\\evil.png",
        "cat\\..\\..\\evil.png",
        "..\\evil.png",  # backslashes are folders (as Windows' archivers mean them): this climbs out too
        "\\tmp\\fitstudio-evil.png",
    ],
)
def test_zip_entries_that_leave_the_archive_are_refused(api: Api, project: str, entry: str) -> None:
    payload = zip_bytes({"cat/a.png": png_bytes(), entry: png_bytes()})
    body = _refused(api, payload, "evil.zip", 422, "bad_archive")
    assert "entry" in body["detail"].lower()
    assert not Path("/tmp/fitstudio-evil.png").exists()
    assert not (api.settings.home / "evil.png").exists() and not (api.settings.data_root / "evil.png").exists()


def test_zip_symlink_entries_are_refused(api: Api, project: str) -> None:
    payload = zip_bytes({"cat/a.png": png_bytes()}, symlinks={"cat/link.png": "/etc/passwd"})
    body = _refused(api, payload, "link.zip", 422, "bad_archive")
    assert "symbolic link" in body["detail"]


def test_an_index_csv_that_points_outside_is_refused(api: Api, project: str, tmp_path: Path) -> None:
    payload = zip_bytes({"index.csv": b"path,label\n../../../etc/passwd.png,a\n", "a.png": png_bytes()})
    _refused(api, payload, "index.zip", 422, "bad_archive")
    secret = tmp_path / "secret" / "b.png"  # a real image on the server, named by its absolute path
    secret.parent.mkdir()
    secret.write_bytes(png_bytes(9, 9))
    payload = zip_bytes({"index.csv": f"path,label\n{secret},a\n".encode(), "a.png": png_bytes()})
    body = _refused(api, payload, "index.zip", 422, "bad_archive")
    assert "which is not in the archive" in body["detail"]


def test_too_many_entries_are_refused_before_the_directory_is_parsed(api: Api, project: str) -> None:
    from server.services import image_zip

    started = time.monotonic()
    payload = zip_with_many_entries(image_zip.MAX_ENTRIES + 1)
    body = _refused(api, payload, "many.zip", 422, "too_many_entries")
    assert str(image_zip.MAX_ENTRIES) in body["detail"]
    assert time.monotonic() - started < 30


def test_a_zip_bomb_is_refused(api: Api, project: str) -> None:
    """100 MB of zeros deflate to ~100 KB: the declared sizes give it away before anything is extracted."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("cat/a.png", png_bytes())
        with zf.open("cat/bomb.png", "w") as fh:
            block = b"\0" * (1 << 20)
            for _ in range(100):
                fh.write(block)
    assert len(buf.getvalue()) < 2 << 20
    body = _refused(api, buf.getvalue(), "bomb.zip", 422, "bad_archive")
    assert "zip bomb" in body["detail"]


def test_an_entry_larger_than_it_declares_is_refused(api: Api, project: str) -> None:
    """A header that lies about the size: extraction reads at most the declared size and notices."""
    payload = lying_size_zip(b"\0" * (4 << 20), declared=100)
    body = _refused(api, payload, "liar.zip", 422, "bad_archive")
    assert "liar.png" in body["detail"]


def test_damaged_and_encrypted_entries_are_refused(api: Api, project: str) -> None:
    good = zip_bytes({"cat/a.png": png_bytes(200, 200)})
    damaged = bytearray(good)
    at = good.index(b"cat/a.png") + len("cat/a.png") + 40  # inside the deflated data of the entry
    damaged[at : at + 16] = b"\xff" * 16
    _refused(api, bytes(damaged), "damaged.zip", 422, "bad_archive")
    encrypted = bytearray(good)
    encrypted[6] |= 0x01  # the local header's "encrypted" flag
    central = good.rindex(b"PK\x01\x02")
    encrypted[central + 8] |= 0x01
    _refused(api, bytes(encrypted), "encrypted.zip", 422, "bad_archive")
    _refused(api, b"PK\x05\x06" + b"\0" * 18, "empty.zip", 422)
    _refused(api, b"not a zip at all", "junk.zip", 415, "unsupported_file")


def test_an_image_declaring_huge_dimensions_is_never_decoded_or_kept(api: Api, project: str) -> None:
    from server.services import image_zip

    for width, height in ((100_000, 100_000), (10_000, 5_000)):
        huge = png_header_claiming(width, height)
        alone = _refused(api, zip_bytes({"cat/huge.png": huge}), "pixels.zip", 422, "image_too_large")
        assert str(image_zip.MAX_PIXELS) in alone["detail"] and "huge.png" in alone["detail"]
        payload = zip_bytes({"cat/a.png": png_bytes(), "cat/huge.png": huge})
        files = {"file": ("pixels.zip", io.BytesIO(payload), "application/octet-stream")}
        ds = expect(api.post(f"{API}/projects/{KEY}/datasets", data={"name": f"pixels-{width}"}, files=files), 201)
        assert ds["n_rows"] == 1 and ds["source"]["left_out"][0]["path"] == "cat/huge.png"
        assert str(image_zip.MAX_PIXELS) in ds["source"]["left_out"][0]["why"]
        assert not list(api.settings.data_root.rglob("huge.png"))


# CSV files ------------------------------------------------------------------------------------------------------


def test_a_csv_line_over_the_row_limit_is_refused(api: Api, project: str) -> None:
    from server.services import tables

    payload = b"a,b\n1,short\n2," + b"x" * (10 << 20) + b"\n3,short\n"
    body = _refused(api, payload, "long.csv", 422, "row_too_long")
    assert f"{tables.MAX_ROW_BYTES >> 20} MB" in body["detail"]
    # A long line below the limit is data like any other.
    r = api.upload_csv(
        KEY, f"longish-{uuid.uuid4().hex[:6]}", b"a,b\n1," + b"x" * (3 << 20) + b"\n2,y\n", "longish.csv"
    )
    assert expect(r, 201)["n_rows"] == 2


@pytest.mark.parametrize("where", ["first line", "after 64 KiB"])
def test_a_latin1_csv_said_to_be_utf8_is_refused_as_bad_encoding(api: Api, project: str, where: str) -> None:
    rows = b"" if where == "first line" else b"1,plain\n" * 20_000
    payload = b"id,name\n" + rows + "2,café crème\n".encode("latin-1")
    body = _refused(api, payload, "latin1.csv", 422, "bad_encoding", encoding="utf-8")
    assert "UTF-8" in body["detail"] and "encoding" in body["detail"]
    read = expect(api.upload_csv(KEY, f"detected-{where[:5]}", payload, "latin1.csv"), 201)  # detected: Latin-1
    assert read["source"]["encoding"] in ("cp1252", "latin-1")


def test_a_csv_with_100k_columns_is_refused_quickly(api: Api, project: str) -> None:
    from server.services import tables

    header = ",".join(f"c{i}" for i in range(100_000)).encode()
    payload = header + b"\n" + b",".join(b"1" for _ in range(100_000)) + b"\n"
    started = time.monotonic()
    body = _refused(api, payload, "wide.csv", 422, "too_many_columns")
    elapsed = time.monotonic() - started
    assert "100000" in body["detail"] and str(tables.MAX_COLUMNS) in body["detail"]
    assert elapsed < 10, f"refusing a 100k-column header took {elapsed:.1f}s"


def test_a_header_only_csv_is_refused(api: Api, project: str) -> None:
    body = _refused(api, b"a,b,c\n", "header.csv", 422, "empty_dataset")
    assert "no rows" in body["detail"]


def test_binary_and_unknown_files_are_refused(api: Api, project: str) -> None:
    _refused(api, b"\x00\x01\x02binary", "bin.csv", 415, "unsupported_file")
    _refused(api, b"a,b\n1,2\n", "data.exe", 415, "unsupported_file")
    _refused(api, b"not parquet", "x.parquet", 415, "unsupported_file")


def test_mangled_archives_never_break_the_server(api: Api, project: str) -> None:
    """Random byte flips and truncations of a good archive (fixed seed): each is stored or refused with a 4xx."""
    import random

    good = zip_bytes(
        {"index.csv": b"path,label\ncat/a.png,a\ndog/b.png,b\n", "cat/a.png": png_bytes(), "dog/b.png": png_bytes()}
    )
    rng = random.Random(20240611)
    statuses: dict[int, int] = {}
    for i in range(60):
        data = bytearray(good)
        if i % 4 == 3:
            data = data[: rng.randrange(1, len(data))]
        else:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        r = api.upload_csv(KEY, f"mangled-{i}-{uuid.uuid4().hex[:6]}", bytes(data), "mangled.zip")
        assert r.status_code in (201, 415, 422), (i, r.status_code, r.text)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    assert statuses.get(415, 0) + statuses.get(422, 0) > 0, statuses
