"""An image dataset's gallery, its image files (kept inside the dataset) and their thumbnails."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from server.errors import ApiError
from server.services import dataset_images


def dataset(kind: str = "images") -> Any:
    columns = [{"name": "label", "type": "categorical"}, {"name": "img", "type": "image"}]
    return SimpleNamespace(kind=kind, columns=columns, path="projects/P/datasets/1")


def test_the_gallery_shows_the_first_image_column_labelled_by_another() -> None:
    preview = {"columns": ["label", "img"], "rows": [["cat", "a.png"], ["dog", None], ["cow", "c.png"]]}
    assert dataset_images.image_positions(dataset(), preview) == [1]
    assert dataset_images.gallery(dataset(), preview, 24) == [
        {"path": "a.png", "label": "cat"},
        {"path": "c.png", "label": "cow"},
    ]
    assert dataset_images.gallery(dataset(), preview, 1) == [{"path": "a.png", "label": "cat"}]
    table = SimpleNamespace(columns=[{"name": "x", "type": "numeric"}])
    assert dataset_images.gallery(table, {"columns": ["x"], "rows": [[1]]}, 24) == []  # type: ignore[arg-type]


def test_an_image_file_must_be_inside_the_datasets_files(tmp_path: Path) -> None:
    settings: Any = SimpleNamespace(data_root=tmp_path)
    files = tmp_path / "projects/P/datasets/1/files"
    files.mkdir(parents=True)
    (files / "a.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("no")
    assert dataset_images.image_file(settings, dataset(), "a.png") == (files / "a.png").resolve()
    for path in ("../../../../secret.txt", "missing.png", "a\0.png"):
        with pytest.raises(ApiError):
            dataset_images.image_file(settings, dataset(), path)
    with pytest.raises(ApiError):
        dataset_images.image_file(settings, dataset(kind="table"), "a.png")


def test_a_thumbnail_is_a_small_png(tmp_path: Path) -> None:
    from PIL import Image

    file = tmp_path / "big.jpg"
    Image.new("RGB", (640, 320), "red").save(file)
    with Image.open(io.BytesIO(dataset_images.thumbnail_png(file))) as thumb:
        assert thumb.format == "PNG" and thumb.size == (160, 80)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    assert dataset_images.thumbnail_png(broken) == b"not a png"  # served as it is
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    with pytest.raises(ApiError):
        dataset_images.thumbnail_png(notes)  # neither readable nor named as an image: no such image
