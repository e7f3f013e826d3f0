"""Image ZIP ingestion streams entries to disk: bounded total, bounded by free space, one file per entry."""

from __future__ import annotations

import io
import os
import tracemalloc
import unicodedata
import zipfile
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import configure
from tests.security.support import png_bytes, png_header_claiming, zip_bytes
from tests.server.api.support import API, assert_error_shape, expect, expect_error, upload


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _datasets_root(api: Any) -> Path:
    return api.settings.data_root / "projects" / "DEMO" / "datasets"


def padded_png(extra: int) -> bytes:
    """A valid PNG followed by EXTRA zero bytes (Pillow reads the header; the padding compresses to nothing)."""
    return png_bytes() + b"\x00" * extra


def test_an_entry_named_by_many_index_rows_is_one_file(api: Any, project: str) -> None:
    index = "image,label\n" + "".join(f"pics/a.png,{'xy'[i % 2]}\n" for i in range(30))
    archive = zip_bytes({"index.csv": index.encode(), "pics/a.png": padded_png(1 << 20)})
    ds = expect(upload(api, project, "dup", archive, "dup.zip"), 201)
    assert ds["n_rows"] == 30
    images = [p for p in _files(_datasets_root(api)) if p.suffix == ".png"]
    assert len(images) == 1
    assert ds["size_bytes"] < 2 << 20  # one copy, not thirty


def test_an_index_csv_saved_by_excel_in_europe_is_read_as_an_uploaded_csv_is(api: Any, project: str) -> None:
    index = "fichier;espèce;poids\r\n" + "".join(
        f"img/{i}.png;{'éléphant' if i % 2 else 'chat'};{i},5\r\n" for i in range(6)
    )
    pictures = {f"img/{i}.png": png_bytes() for i in range(6)}
    ds = expect(upload(api, project, "eu", zip_bytes({"index.csv": index.encode("cp1252"), **pictures}), "eu.zip"), 201)
    assert {c["name"]: c["type"] for c in ds["columns"]} == {
        "fichier": "image",
        "espèce": "categorical",
        "poids": "numeric",
    }
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert [r[1:] for r in rows[:2]] == [["chat", 0.5], ["éléphant", 1.5]]
    bad = zip_bytes({"index.csv": b"\x00\x01\x02binary", **pictures})
    assert "index.csv" in expect_error(upload(api, project, "bad", bad, "bad.zip"), 422, "bad_archive")["detail"]


def test_train_and_val_folders_with_the_same_file_names_keep_every_image(api: Any, project: str) -> None:
    entries = {
        f"photos/{split}/{label}/1.png": png_bytes(8 + i, 8)  # told apart by their widths
        for i, (split, label) in enumerate([("train", "cat"), ("train", "dog"), ("val", "cat"), ("val", "dog")])
    }
    ds = expect(upload(api, project, "splits", zip_bytes(entries), "splits.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert sorted(rows) == [
        ["train/cat/1.png", "cat"],
        ["train/dog/1.png", "dog"],
        ["val/cat/1.png", "cat"],
        ["val/dog/1.png", "dog"],
    ]  # the folder around them all ("photos/") left out
    files = api.settings.data_root / "projects" / project / "datasets"
    widths = {p.relative_to(p.parents[2]).as_posix(): Image.open(p).size[0] for p in files.rglob("1.png")}
    assert widths == {"train/cat/1.png": 8, "train/dog/1.png": 9, "val/cat/1.png": 10, "val/dog/1.png": 11}
    wrapped = expect(upload(api, project, "wrapped", zip_bytes({"photos/cat/a.png": png_bytes()}), "w.zip"), 201)
    assert expect(api.get(f"{API}/datasets/{wrapped['id']}/preview"), 200)["rows"] == [["cat/a.png", "cat"]]


def _saved(fmt: str, size: tuple[int, int] = (6, 6), exif: bytes | None = None) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 120, 220)).save(buf, format=fmt, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def test_jfif_avif_and_iphone_heic_photos_are_images(api: Any, project: str) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": a phone held upright
    entries = {
        "cat/a.jfif": _saved("JPEG"),
        "dog/b.avif": _saved("AVIF"),
        "dog/c.JPE": _saved("JPEG"),
        "dog/IMG_0001.HEIC": _saved("HEIF", (12, 8), exif.tobytes()),
    }
    ds = expect(upload(api, project, "photos", zip_bytes(entries), "p.zip"), 201)
    assert ds["n_rows"] == 4 and ds["source"] is None  # nothing left out
    _log_in(api)
    thumb = api.client.get(f"/datasets/{ds['id']}/thumbnails/dog/IMG_0001.HEIC")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(thumb.content)).size == (8, 12)  # shown upright, as it is trained on

    from core import image_cache

    stored = next(_datasets_root(api).rglob("IMG_0001.HEIC"))
    pixels = image_cache.decode(stored, {"height": 12, "width": 8, "channels": 3})
    assert abs(pixels.reshape(-1, 3).mean(axis=0) - (20, 120, 220)).max() < 8


def _log_in(api: Any) -> None:
    assert api.client.get(f"/login?token={api.token}", follow_redirects=False).status_code in (302, 303)


def _truncated_jpeg() -> bytes:
    whole = _saved("JPEG", (64, 48))
    return whole[: len(whole) // 2]


def test_images_that_cannot_be_read_are_left_out_and_named(api: Any, project: str) -> None:
    entries = {
        "PetImages/Cat/1.jpg": _saved("JPEG"),
        "PetImages/Cat/666.jpg": b"",  # as in Microsoft's Kaggle cats and dogs: an empty file
        "PetImages/Cat/2.png": png_bytes(),
        "PetImages/Dog/11702.jpg": _truncated_jpeg(),
        "PetImages/Dog/3.jpg": b"<html><body>404 Not Found</body></html>",  # a scraper's saved error page
        "PetImages/Dog/4.png": png_header_claiming(10_000, 5_000),  # a panorama over the pixel limit
        "PetImages/Dog/5.png": png_bytes(),
    }
    ds = expect(upload(api, project, "pets", zip_bytes(entries), "pets.zip"), 201)
    assert ds["n_rows"] == 3
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert sorted(rows) == [["Cat/1.jpg", "Cat"], ["Cat/2.png", "Cat"], ["Dog/5.png", "Dog"]]
    source = ds["source"]
    assert source["images_left_out"] == 4
    why = {item["path"]: item["why"] for item in source["left_out"]}
    assert why["PetImages/Cat/666.jpg"] == "is an empty file"
    assert why["PetImages/Dog/11702.jpg"].startswith("is a damaged image (")  # Pillow: "Truncated File Read"
    assert why["PetImages/Dog/3.jpg"] == "is not a readable image"
    assert why["PetImages/Dog/4.png"] == "declares 10000x5000 pixels; the limit is 40000000 pixels"
    stored = sorted(p.name for p in _files(_datasets_root(api)) if "files" in p.parts)
    assert stored == ["1.jpg", "2.png", "5.png"]  # the unreadable ones were not kept
    _log_in(api)
    page = api.client.get(f"/datasets/{ds['id']}").text
    assert "4 images left out" in page and "11702.jpg" in page and "Read as" not in page


def test_index_rows_whose_image_cannot_be_read_are_left_out(api: Any, project: str) -> None:
    index = "file,weight\nimg/a.png,1.5\nimg/b.jpg,2.5\nimg/c.png,3.5\nimg/b.jpg,4.5\n"
    entries = {"index.csv": index.encode(), "img/a.png": png_bytes(), "img/b.jpg": _truncated_jpeg()}
    ds = expect(upload(api, project, "idx", zip_bytes({**entries, "img/c.png": png_bytes()}), "i.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert rows == [["img/a.png", 1.5], ["img/c.png", 3.5]]  # both rows naming b.jpg, the others intact
    assert ds["source"]["images_left_out"] == 1 and ds["source"]["left_out"][0]["path"] == "img/b.jpg"


def test_an_archive_of_no_readable_image_is_refused_with_why(api: Any, project: str) -> None:
    one = expect_error(upload(api, project, "one", zip_bytes({"cat/a.jpg": b"GIF89a"}), "o.zip"), 422, "bad_image")
    assert "'cat/a.jpg' is a damaged image" in one["detail"] or "'cat/a.jpg' is not a readable" in one["detail"]
    entries = {"cat/a.jpg": b"", "dog/b.jpg": _truncated_jpeg()}
    body = expect_error(upload(api, project, "none", zip_bytes(entries), "n.zip"), 422, "bad_image")
    assert body["detail"].startswith("None of the archive's 2 images can be read: Archive entry 'cat/a.jpg'")
    assert _files(_datasets_root(api)) == []


def test_the_expanded_total_is_bounded_by_a_setting(api: Any, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api.settings.home, max_zip_expanded_mb="1")
    archive = zip_bytes({"c/a.png": padded_png(600 << 10), "c/b.png": padded_png(600 << 10)})
    body = expect_error(upload(api, project, "big", archive, "big.zip"), 422, "bad_archive")
    assert "FITSTUDIO_MAX_ZIP_EXPANDED_MB" in body["detail"]
    assert _files(_datasets_root(api)) == []
    configure(monkeypatch, api.settings.home, max_zip_expanded_mb="2")
    expect(upload(api, project, "big", archive, "big.zip"), 201)


def test_the_expanded_total_is_bounded_by_free_disk_space(
    api: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.services import image_zip

    configure(monkeypatch, api.settings.home, upload_parse_process="false")  # the fake disk is this process's
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(image_zip.shutil, "disk_usage", lambda _p: usage(1 << 40, 1 << 40, (256 << 20) + (1 << 20)))
    api.client.event_hooks = {"request": [], "response": []}  # 507 is the answer wanted
    archive = zip_bytes({"c/a.png": padded_png(2 << 20)})
    r = upload(api, project, "full", archive, "full.zip")
    assert r.status_code == 507, r.text
    assert assert_error_shape(r)["code"] == "insufficient_storage"
    assert _files(_datasets_root(api)) == []
    assert [d["name"] for d in expect(api.get(f"{API}/projects/DEMO/datasets"), 200)] == []


def test_api_memory_does_not_grow_with_an_entry_size(api: Any, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api.settings.home, upload_parse_process="false")  # traced here: the parse in this process
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        # 64 MiB once extracted, ~400 KiB in the upload (incompressible enough to stay under the zip bomb ratio)
        zf.writestr("c/big.png", padded_png(64 << 20) + os.urandom(400 << 10))
        zf.writestr("d/small.png", png_bytes())
    archive = buf.getvalue()
    assert len(archive) < 1 << 20
    archive_mb = len(archive) >> 20
    tracemalloc.start()
    try:
        ds = expect(upload(api, project, "huge-entry", archive, "huge.zip"), 201)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ds["size_bytes"] > 64 << 20
    assert peak < (24 + archive_mb) << 20, f"peak traced memory {peak >> 20} MiB while extracting a 64 MiB entry"


def _stored_paths(api: Any, ds: dict[str, Any]) -> list[str]:
    """The image paths of DS's rows that name a stored file (relative to its folder)."""
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=100"), 200)["rows"]
    files = {p.as_posix() for p in _files(_datasets_root(api))}
    return [
        r[0] for r in rows if any(f.endswith(f"/{ds['id']}/images/{r[0]}") or f.endswith("/" + r[0]) for f in files)
    ]


def test_an_archive_made_by_windows_powershell_has_folders_not_backslashes(api: Any, project: str) -> None:
    # PowerShell 5.1's Compress-Archive writes `cats\1.png`: its backslashes are the folders (refused before)
    pictures = {f"{kind}\\{i}.png": png_bytes() for kind in ("cats", "dogs") for i in range(3)}
    ds = expect(upload(api, project, "ps", zip_bytes(pictures), "ps.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert [r[0] for r in rows] == [f"{k}/{i}.png" for k in ("cats", "dogs") for i in range(3)]
    assert [r[1] for r in rows] == ["cats"] * 3 + ["dogs"] * 3
    assert _stored_paths(api, ds) == [r[0] for r in rows]


def test_an_index_written_on_windows_finds_its_images(api: Any, project: str) -> None:
    index = "Bild;Art\r\nfotos\\Katze_1.PNG;Katze\r\nFOTOS\\hund_2.png;Hund\r\nfotos\\hund_3.png;Hund\r\n"
    pictures = {"fotos/katze_1.png": png_bytes(), "fotos/Hund_2.png": png_bytes(), "fotos/hund_3.png": png_bytes()}
    ds = expect(upload(api, project, "win", zip_bytes({"Index.csv": index.encode("cp1252"), **pictures}), "w.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert rows == [["fotos/Katze_1.PNG", "Katze"], ["FOTOS/hund_2.png", "Hund"], ["fotos/hund_3.png", "Hund"]]
    assert _stored_paths(api, ds) == [r[0] for r in rows]
    two = {"fotos/a.png": png_bytes(), "fotos/A.png": png_bytes()}  # which one `FOTOS/A.PNG` means is a guess
    error = expect_error(
        upload(api, project, "two", zip_bytes({"index.csv": b"p\nFOTOS/A.PNG\n", **two}), "t.zip"), 422
    )
    assert error["code"] == "bad_archive" and "FOTOS/A.PNG" in error["detail"]


def test_index_paths_from_the_archive_top_are_found_too(api: Any, project: str) -> None:
    index = "image,label\ndata/img/1.png,a\ndata/img/2.png,b\n"
    pictures = {"data/img/1.png": png_bytes(), "data/img/2.png": png_bytes()}
    ds = expect(upload(api, project, "top", zip_bytes({"data/index.csv": index.encode(), **pictures}), "top.zip"), 201)
    assert _stored_paths(api, ds) == ["data/img/1.png", "data/img/2.png"]


def test_names_a_mac_decomposed_are_the_names_people_type(api: Any, project: str) -> None:
    # macOS writes `Äpfel` and `café` decomposed (NFD); an index typed in Excel names them composed (NFC)
    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    folders = {nfd(f"Äpfel/{i}.png"): png_bytes() for i in range(2)} | {
        nfd(f"Birnen/é{i}.png"): png_bytes() for i in range(2)
    }
    ds = expect(upload(api, project, "mac", zip_bytes(folders), "mac.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert [r[1] for r in rows] == ["Birnen", "Birnen", "Äpfel", "Äpfel"] and rows[2][0] == "Äpfel/0.png"
    assert _stored_paths(api, ds) == [r[0] for r in rows]
    index = "Bild;Sorte\nfotos/café.png;Kaffee\n".encode("cp1252")
    ds = expect(
        upload(api, project, "idx", zip_bytes({"index.csv": index, nfd("fotos/café.png"): png_bytes()}), "i.zip"), 201
    )
    assert _stored_paths(api, ds) == ["fotos/café.png"]


def _flagless(entries: dict[str, bytes], encoding: str) -> bytes:
    """A ZIP of ENTRIES whose names are written in ENCODING without the UTF-8 flag (Python's zipfile sets it for
    every name that is not ASCII): written under ASCII stand-ins of the same length, then patched."""
    stand_ins = {"qwxzjk"[i] * len(n.encode(encoding)): n for i, n in enumerate(entries)}
    archive = zip_bytes({s: entries[n] for s, n in stand_ins.items()})
    for stand_in, name in stand_ins.items():
        assert archive.count(stand_in.encode()) == 2  # the local header and the central directory
        archive = archive.replace(stand_in.encode(), name.encode(encoding))
    return archive


def test_class_folders_zipped_on_a_japanese_or_russian_windows_are_their_names(api: Any, project: str) -> None:
    # A Japanese Windows' Explorer and 7-Zip write names in CP932 without the flag: read as CP437, `猫` was `öL`
    japanese = _flagless(
        {"写真/猫/1.png": png_bytes(), "写真/猫/2.png": png_bytes(), "写真/犬/ぽち.png": png_bytes()}, "cp932"
    )
    ds = expect(upload(api, project, "japanese", japanese, "japanese.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert sorted(r[0] for r in rows) == ["犬/ぽち.png", "猫/1.png", "猫/2.png"]
    assert sorted(r[1] for r in rows) == ["犬", "猫", "猫"]
    russian = _flagless({"кошки/1.png": png_bytes(), "собаки/2.png": png_bytes()}, "cp866")
    ds = expect(upload(api, project, "russian", russian, "russian.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert sorted(r[1] for r in rows) == ["кошки", "собаки"]


def test_utf8_names_without_the_flag_and_windows_names_both_read(api: Any, project: str) -> None:
    # Linux's zip and many libraries write UTF-8 names without the flag: read as CP437 they were `├äpfel`
    linux = _flagless({f"Äpfel/{i}.png": png_bytes() for i in range(2)} | {"Birnen/b.png": png_bytes()}, "utf-8")
    ds = expect(upload(api, project, "linux", linux, "linux.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert sorted(r[1] for r in rows) == ["Birnen", "Äpfel", "Äpfel"]
    # Windows' Explorer writes its OEM code page (CP437/CP850 share `Ä`): still read so
    windows = _flagless({"Äpfel/1.png": png_bytes(), "Birnen/b.png": png_bytes()}, "cp437")
    ds = expect(upload(api, project, "windows", windows, "windows.zip"), 201)
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert sorted(r[1] for r in rows) == ["Birnen", "Äpfel"]
