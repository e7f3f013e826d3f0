"""Tables that come packed, as people download them: `train.csv.gz` (and .bz2, .xz, .zst), or a ZIP holding one
CSV (Kaggle's "Download" button, Windows' "Send to > Compressed folder"). A .gz was a 415 and a ZIP of a CSV a
422 "holds no images"; both are now unpacked, bounded as an image archive is, and read as the file they pack."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.conftest import configure
from tests.security.support import png_bytes, zip_bytes
from tests.server.api.support import expect, expect_error, parquet_bytes
from tests.server.api.test_csv_sources import _post, _read_back

# Excel in Germany: `;`, decimal commas, Windows-1252, CRLF
KUNDEN = "Kunde;Stadt;Umsatz\r\nK1;Köln;1.234,50\r\nK2;Zürich;7,25\r\nK3;Düsseldorf;19,00\r\n".encode("cp1252")
UMSATZ = [1234.5, 7.25, 19.0]


def _zstd(data: bytes) -> bytes:
    return pa.compress(data, codec="zstd", asbytes=True)


COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress, "zst": _zstd}
NAMES = {"gz": "gzip", "bz2": "bz2", "xz": "xz", "zst": "zstd"}


def _send(api: Any, project: str, payload: bytes, filename: str, **fields: str) -> Any:
    return _post(api, project, "datasets", payload, {"name": filename, **fields}, filename)


def _datasets_files(api: Any) -> list[Path]:
    root = api.settings.data_root / "projects" / "DEMO" / "datasets"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
def test_a_compressed_csv_is_read_as_the_csv_it_packs(api: Any, project: str, suffix: str) -> None:
    body = expect(_send(api, project, COMPRESS[suffix](KUNDEN), f"kunden.csv.{suffix}"), 201)
    source = body["source"]
    assert (source["delimiter"], source["decimal"], source["compression"]) == (";", ",", NAMES[suffix])
    data = _read_back(api, body)
    assert data["Umsatz"] == UMSATZ and data["Stadt"] == ["Köln", "Zürich", "Düsseldorf"]


def test_a_compressed_tsv_and_parquet_too(api: Any, project: str) -> None:
    tsv = expect(_send(api, project, gzip.compress(b"a\tb\n1\tx\n2\ty\n"), "t.tsv.gz"), 201)
    assert _read_back(api, tsv) == {"a": [1, 2], "b": ["x", "y"]}
    table = parquet_bytes({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    parquet = expect(_send(api, project, gzip.compress(table), "p.parquet.gz"), 201)
    assert parquet["n_rows"] == 3 and parquet["source"] is None


def test_a_zip_of_one_csv_is_read_as_that_csv(api: Any, project: str) -> None:
    # Windows' "Send to > Compressed folder" of a folder, macOS' Finder with its metadata entries
    archive = zip_bytes({"export/kunden.csv": KUNDEN, "__MACOSX/export/._kunden.csv": b"\x00\x05\x16\x07"})
    body = expect(_send(api, project, archive, "kunden.zip"), 201)
    assert body["kind"] == "tabular" and body["source"]["archive_member"] == "export/kunden.csv"
    assert _read_back(api, body)["Umsatz"] == UMSATZ


def test_a_zip_of_several_tables_names_them_and_reads_the_one_given(api: Any, project: str) -> None:
    # Kaggle's Titanic download
    tables = {"train.csv": b"id,y\n1,0\n2,1\n", "test.csv": b"id\n3\n", "gender_submission.csv": b"id,y\n3,0\n"}
    archive = zip_bytes(tables)
    body = expect_error(_send(api, project, archive, "titanic.zip"), 422, "several_tables")
    assert "2 tables (test.csv, train.csv)" in body["detail"] and "`member`" in body["detail"]  # not the template
    train = expect(_send(api, project, archive, "titanic.zip", member="train.csv"), 201)
    assert _read_back(api, train) == {"id": [1, 2], "y": [0, 1]}
    missing = expect_error(_send(api, project, archive, "t2.zip", member="valid.csv"), 422, "bad_member")
    assert "valid.csv" in missing["detail"] and "train.csv" in missing["detail"]


def test_a_submission_template_is_never_read_unasked(api: Any, project: str) -> None:
    # a Kaggle download without its test file: the data, not the template beside it
    archive = zip_bytes({"train.csv": b"id,y\n1,0\n2,1\n", "sample_submission.csv": b"id,y\n3,0\n"})
    train = expect(_send(api, project, archive, "house.zip"), 201)
    assert train["source"]["archive_member"] == "train.csv" and train["n_rows"] == 2
    # Kaggle's dogs-vs-cats: the images in archives inside it, a template beside them
    inner = zip_bytes({"train/cat.0.jpg": png_bytes()})
    nested = zip_bytes({"train.zip": inner, "test1.zip": inner, "sampleSubmission.csv": b"id,label\n1,0\n"})
    body = expect_error(_send(api, project, nested, "dogs-vs-cats.zip"), 422, "submission_only")
    assert "only table, sampleSubmission.csv, is a submission template" in body["detail"]
    assert "(train.zip, test1.zip)" in body["detail"] or "(test1.zip, train.zip)" in body["detail"]
    asked = expect(_send(api, project, nested, "dogs-vs-cats.zip", member="sampleSubmission.csv"), 201)
    assert asked["source"]["archive_member"] == "sampleSubmission.csv"


def test_a_zip_with_images_is_still_an_image_dataset(api: Any, project: str) -> None:
    archive = zip_bytes({"cat/a.png": png_bytes(), "dog/b.png": png_bytes(), "notes.csv": b"a,b\n1,2\n"})
    assert expect(_send(api, project, archive, "pets.zip"), 201)["kind"] == "images"
    empty = expect_error(_send(api, project, zip_bytes({"readme.md": b"hi"}), "e.zip"), 422, "empty_dataset")
    assert "no table (.csv, .parquet)" in empty["detail"]


def test_decompression_is_bounded_and_damage_is_a_clear_422(
    api: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, api.settings.home, max_zip_expanded_mb="1")
    bomb = gzip.compress(b"a,b\n" + b"1,2\n" * (600 << 10))  # 2.4 MB of rows in 3 KB
    body = expect_error(_send(api, project, bomb, "bomb.csv.gz"), 422, "bad_archive")
    assert "FITSTUDIO_MAX_ZIP_EXPANDED_MB" in body["detail"]
    zipped = zip_bytes({"big.csv": b"a,b\n" + b"1,2\n" * (600 << 10)})
    expect_error(_send(api, project, zipped, "bomb.zip"), 422, "bad_archive")
    assert _datasets_files(api) == []
    cut = gzip.compress(KUNDEN * 50)[:-40]
    expect_error(_send(api, project, cut, "cut.csv.gz"), 422, "bad_archive")
    expect_error(_send(api, project, KUNDEN, "plain.csv.gz"), 422, "bad_archive")  # named .gz, not gzip
    configure(monkeypatch, api.settings.home, max_zip_expanded_mb="3")
    assert expect(_send(api, project, bomb, "bomb.csv.gz"), 201)["n_rows"] == 600 << 10


@pytest.mark.parametrize("filename", ["model.h5.gz", "data.gz", "photos.7z.gz"])
def test_other_compressed_files_are_a_415_that_says_what_is_read(api: Any, project: str, filename: str) -> None:
    body = expect_error(_send(api, project, gzip.compress(b"x"), filename), 415, "unsupported_file")
    assert "train.csv.gz" in body["detail"]


def test_the_preview_reads_the_head_of_a_compressed_csv(api: Any, project: str) -> None:
    rows = b"".join(f"K{i};Stadt{i % 5};{i},50\r\n".encode() for i in range(200_000))
    packed = gzip.compress(b"Kunde;Stadt;Umsatz\r\n" + rows)
    head = packed[: len(packed) // 3]  # the browser sends the file's first bytes only: a cut gzip stream
    preview = expect(_post(api, project, "datasets/sniff", head, {}, "kunden.csv.gz"), 200)
    assert [c["name"] for c in preview["columns"]] == ["Kunde", "Stadt", "Umsatz"]
    assert preview["source"]["compression"] == "gzip" and preview["source"]["decimal"] == ","
    assert preview["rows"][1] == ["K1", "Stadt1", 1.5]
    expect_error(_post(api, project, "datasets/sniff", b"not gzip", {}, "k.csv.gz"), 422, "bad_archive")


def test_the_client_uploads_a_kaggle_zip_with_its_member(api: Any, project: str, tmp_path: Path) -> None:
    from fitstudio.client import Client

    client = Client("http://testserver", api.token, transport=api.client._transport)
    path = tmp_path / "titanic.zip"
    path.write_bytes(zip_bytes({"train.csv": b"id,y\n1,0\n2,1\n", "test.csv": b"id\n3\n"}))
    body = client.get_project(project).upload_dataset("titanic", path, member="train.csv")
    assert body["n_rows"] == 2 and body["source"]["archive_member"] == "train.csv"


@pytest.mark.parametrize("filename", ["iris.data", "bezdekIris.DAT", "iris.tab", "iris.psv"])
def test_uci_and_other_delimited_suffixes_are_read(api: Any, project: str, filename: str) -> None:
    # UCI's iris.data as published: no header, a blank line at its end; .psv holds pipes
    rows = ["5.1,3.5,1.4,0.2,Iris-setosa", "7.0,3.2,4.7,1.4,Iris-versicolor", "6.3,3.3,6.0,2.5,Iris-virginica"]
    text = "\n".join(rows).replace(",", "|" if filename.endswith(".psv") else ",") + "\n\n"
    body = expect(_send(api, project, text.encode(), filename), 201)
    assert body["n_rows"] == 3 and body["source"]["header"] is False
    assert _read_back(api, body)["column_5"] == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    zipped = expect(_send(api, project, gzip.compress(text.encode()), filename + ".gz"), 201)
    assert zipped["n_rows"] == 3
