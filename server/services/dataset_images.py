"""An image dataset's pictures: the gallery of a preview, one image file (kept inside the dataset), thumbnails."""

from __future__ import annotations

import io
import mimetypes
from pathlib import Path
from typing import Any

from core import image_formats
from server.errors import not_found
from server.models import Dataset
from server.services.datasets import files_root
from server.settings import Settings

THUMB_PX = 160


def image_positions(dataset: Dataset, preview: dict[str, Any]) -> list[int]:
    """The positions, in PREVIEW's columns, of DATASET's image columns."""
    images = {c["name"] for c in dataset.columns if c["type"] == "image"}
    return [i for i, name in enumerate(preview["columns"]) if name in images]


def gallery(dataset: Dataset, preview: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Up to LIMIT {path, label} of PREVIEW's rows: the first image column, labelled by the first other column that
    is not an id (Kaggle's labels.csv starts with one: the breed says more)."""
    positions = image_positions(dataset, preview)
    if not positions:
        return []
    first = positions[0]
    ids = {c["name"] for c in dataset.columns if "id_like" in (c.get("hints") or [])}
    others = [i for i, _ in enumerate(preview["columns"]) if i not in positions]
    label = next((i for i in others if preview["columns"][i] not in ids), others[0] if others else None)
    return [
        {"path": row[first], "label": row[label] if label is not None else ""}
        for row in preview["rows"][:limit]
        if row[first]
    ]


def image_file(settings: Settings, dataset: Dataset, path: str) -> Path:
    """The file PATH of an image dataset; 404 unless it is a file inside the dataset's files."""
    root = files_root(settings, dataset).resolve()
    try:
        file = (root / path).resolve()
        found = dataset.kind == "images" and root in file.parents and file.is_file()
    except (OSError, ValueError):  # an embedded NUL or a name the filesystem refuses: no such image
        found = False
    if not found:
        raise not_found("image", path)
    return file


def thumbnail_png(file: Path, size: int = THUMB_PX) -> bytes:
    """FILE scaled down to at most SIZE pixels on its longer side, as PNG (the original bytes when unreadable)."""
    from PIL import ImageOps  # Pillow loads only when a thumbnail is asked for

    try:
        with image_formats.open_image(file) as opened:
            img = ImageOps.exif_transpose(opened)  # a phone's photo stored sideways, shown as it is trained on
            img.thumbnail((size, size))
            out = io.BytesIO()
            img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB").save(out, format="PNG")
            return out.getvalue()
    except Exception:  # a file Pillow cannot read is served as it is; the browser may still show it
        kind = mimetypes.guess_type(file.name)[0] or ""
        if not kind.startswith("image/"):
            raise not_found("image", file.name) from None
        return file.read_bytes()
