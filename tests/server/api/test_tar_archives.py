"""Tar archives (`flower_photos.tgz`, as TensorFlow's tutorials ship photos) are read as the ZIP of the same files."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import configure
from tests.security.support import png_bytes
from tests.server.api.support import API, expect, expect_error, upload


def tar_bytes(entries: dict[str, bytes], mode: str = "w:gz", extra: list[tarfile.TarInfo] | None = None) -> bytes:
    """A tar archive of ENTRIES (name -> data) written with MODE, plus the special members EXTRA."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buf.getvalue()


def _stored_files(api: Any) -> list[Path]:
    root = api.settings.data_root / "projects"
    return sorted(p for p in root.rglob("*") if p.is_file() and "files" in p.parts)


def test_a_tgz_of_class_folders_is_an_image_dataset(api: Any, project: str) -> None:
    entries = {  # as `tar -czf flower_photos.tgz ./flower_photos` writes it, with the tutorial's LICENSE.txt
        "./flower_photos/LICENSE.txt": b"All images are licensed under the Creative Commons By-Attribution License",
        "./flower_photos/daisy/100080576_f52e8ee070_n.jpg": png_bytes(5, 4),
        "./flower_photos/daisy/10140303196_b88d3d6cec.jpg": png_bytes(6, 4),
        "./flower_photos/roses/10090824183_d02c613f10_m.jpg": png_bytes(7, 4),
        "./flower_photos/Äpfel/1.png": png_bytes(8, 4),
        "./flower_photos/roses/._10090824183_d02c613f10_m.jpg": b"\x00\x05\x16\x07",  # macOS tar's AppleDouble
    }
    ds = expect(upload(api, project, "flowers", tar_bytes(entries), "flower_photos.tgz"), 201)
    assert ds["kind"] == "images" and ds["n_rows"] == 4 and ds["source"] is None
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=10"), 200)["rows"]
    assert sorted(r[1] for r in rows) == ["daisy", "daisy", "roses", "Äpfel"]
    assert ["daisy/100080576_f52e8ee070_n.jpg", "daisy"] in rows
    assert len(_stored_files(api)) == 4
    upload_dir = api.settings.data_root / "tmp"
    assert not upload_dir.exists() or not any(upload_dir.rglob("*.zip"))  # the rewritten ZIP is gone


@pytest.mark.parametrize(("mode", "filename"), [("w", "t.tar"), ("w:bz2", "t.tar.bz2"), ("w:xz", "t.txz")])
def test_a_tar_of_one_table_is_read_as_that_table(api: Any, project: str, mode: str, filename: str) -> None:
    csv = "Name;Betrag\nMüller;1.234,50\nSchmidt;17,25\n".encode("cp1252")
    archive = tar_bytes({"export/README.md": b"Umsatz 2026", "export/umsatz.csv": csv}, mode)
    ds = expect(upload(api, project, f"table-{mode}", archive, filename), 201)
    assert ds["kind"] == "tabular" and ds["source"]["archive_member"] == "export/umsatz.csv"
    rows = expect(api.get(f"{API}/datasets/{ds['id']}/preview"), 200)["rows"]
    assert rows == [["Müller", 1234.5], ["Schmidt", 17.25]]


def test_links_devices_and_damaged_tars_are_refused_and_leave_nothing(api: Any, project: str) -> None:
    link = tarfile.TarInfo("cat/passwd.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("cat/b.png")
    hard.type, hard.linkname = tarfile.LNKTYPE, "cat/a.png"
    device = tarfile.TarInfo("cat/zero.png")
    device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 5
    good = {"cat/a.png": png_bytes(), "dog/b.png": png_bytes()}
    for special, kind in ((link, "a link"), (hard, "a link"), (device, "not a regular file")):
        body = expect_error(upload(api, project, "x", tar_bytes(good, extra=[special]), "x.tgz"), 422, "bad_archive")
        assert f"{special.name!r} is {kind}" in body["detail"]
    climbing = tar_bytes({**good, "../../outside.png": png_bytes()})
    body = expect_error(upload(api, project, "up", climbing, "up.tar.gz"), 422, "bad_archive")
    assert "climbs out of the archive" in body["detail"]
    whole = tar_bytes(good)
    body = expect_error(upload(api, project, "cut", whole[: len(whole) // 2], "cut.tar.gz"), 422, "bad_archive")
    assert "could not be read as a tar archive" in body["detail"]
    expect_error(upload(api, project, "junk", b"no tar here" * 100, "junk.tar"), 422, "bad_archive")
    assert _stored_files(api) == []
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []


def test_a_tar_is_bounded_by_the_expansion_setting(api: Any, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, api.settings.home, max_zip_expanded_mb="1")
    padded = png_bytes() + b"\x00" * (700 << 10)
    archive = tar_bytes({"c/a.png": padded, "c/b.png": padded})  # 1.4 MB of zeros: a few KB compressed
    body = expect_error(upload(api, project, "big", archive, "big.tgz"), 422, "bad_archive")
    assert "FITSTUDIO_MAX_ZIP_EXPANDED_MB" in body["detail"]
    assert _stored_files(api) == []
