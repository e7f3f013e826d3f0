"""fitstudio.folders.Folder as code cells see it (data.md), and the child's get_file wrapper of the weights store,
without a training: the context a training sets is filled by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fitstudio.deep_learning import _context
from fitstudio.folders import Folder, FolderNotFound


@pytest.fixture
def visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "a.txt").write_text("A")
    (mine / "b.bin").write_bytes(b"B")
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setattr(
        _context,
        "folders",
        [
            {"id": 7, "name": "resnet_weights", "project_key": "P1", "path": str(mine)},
            {"id": 9, "name": "resnet_weights", "project_key": "P2", "path": str(other)},
        ],
    )
    monkeypatch.setattr(_context, "current", {"project_key": "P1"})
    yield mine


def test_a_name_is_looked_up_in_the_trainings_project_first(visible: Path) -> None:
    assert Folder("resnet_weights").get_path() == str(visible)
    assert Folder("P2.resnet_weights").get_id() == "9"
    assert Folder(9).get_name() == "resnet_weights" and Folder("7").get_path() == str(visible)


def test_listing_and_reading(visible: Path) -> None:
    folder = Folder("resnet_weights")
    assert folder.list_paths_in_partition() == ["/b.bin", "/sub/a.txt"]
    with folder.get_download_stream("/sub/a.txt") as stream:
        assert stream.read() == b"A"
    with folder.get_download_stream("b.bin") as stream:
        assert stream.read() == b"B"
    assert folder.file_exists("/b.bin") and not folder.file_exists("/nope")
    for bad in ("../other/x", "/sub/../../other"):
        with pytest.raises(ValueError):
            folder.get_download_stream(bad)
    with pytest.raises(PermissionError):
        folder.upload_stream("x", b"")


def test_an_invisible_folder_raises_naming_it(visible: Path) -> None:
    with pytest.raises(FolderNotFound) as err:
        Folder("secret")
    assert "'secret'" in str(err.value) and "resnet_weights" in str(err.value)
    with pytest.raises(FolderNotFound):
        Folder(123)
    with pytest.raises(FolderNotFound):
        Folder("P3.resnet_weights")


def test_dataiku_folder_is_the_same_class() -> None:
    from worker.runtime import cells

    cells.install_aliases()
    import dataiku  # type: ignore[import-not-found]

    assert dataiku.Folder is Folder


def test_get_file_uses_the_store_and_names_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.runtime import weights

    calls: list[Any] = []

    def get_file(
        fname=None,
        origin=None,
        untar=False,
        md5_hash=None,
        file_hash=None,
        cache_subdir="datasets",
        hash_algorithm="auto",
        extract=False,
        archive_format="auto",
        cache_dir=None,
        force_download=False,
    ):
        calls.append(fname)
        return "downloaded"

    (tmp_path / "present.h5").write_bytes(b"x")
    monkeypatch.setattr(weights, "_store", tmp_path)
    wrapped = weights._wrap(get_file)
    assert wrapped("present.h5", "https://example.invalid/present.h5", cache_subdir="models") == str(
        tmp_path / "present.h5"
    )
    with pytest.raises(weights.MissingWeights) as err:
        wrapped(None, "https://example.invalid/x/missing_weights.h5", cache_subdir="models")
    assert "fitstudio weights import missing_weights.h5" in str(err.value)
    assert wrapped("data.csv", "https://example.invalid/data.csv") == "downloaded"  # datasets: left to Keras
    assert calls == ["data.csv"]
