"""Pages: a dataset's schema and preview (with thumbnails for image datasets), and those thumbnails."""

from __future__ import annotations

import io
import mimetypes
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from server.api.deps import settings_dep
from server.db import get_db
from server.errors import not_found
from server.models import Project, User
from server.services import access, datasets
from server.settings import Settings
from webui.web import PageRoute, page_user, render

router = APIRouter(route_class=PageRoute)
PREVIEW_ROWS = 50
THUMB_PX = 160
GALLERY = 24


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
def dataset_page(
    dataset_id: int,
    request: Request,
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """Schema, the first rows, and for image datasets a gallery of thumbnails."""
    ds = access.dataset(db, user, dataset_id)
    project = db.get(Project, ds.project_id)
    preview = datasets.preview(settings, ds, PREVIEW_ROWS)
    image_columns = [c["name"] for c in ds.columns if c["type"] == "image"]
    image_index = [i for i, name in enumerate(preview["columns"]) if name in image_columns]
    gallery = []
    if image_index:
        first = image_index[0]
        label_index = next((i for i, c in enumerate(preview["columns"]) if i not in image_index), None)
        for row in preview["rows"][:GALLERY]:
            if row[first]:
                gallery.append({"path": row[first], "label": row[label_index] if label_index is not None else ""})
    context = {
        "project": project,
        "dataset": ds,
        "preview": preview,
        "image_index": image_index,
        "gallery": gallery,
    }
    return render(request, "dataset.html", context)


@router.get("/datasets/{dataset_id}/thumbnails/{path:path}")
def thumbnail(
    dataset_id: int,
    path: str,
    db: Session = Depends(get_db),
    user: User = Depends(page_user),
    settings: Settings = Depends(settings_dep),
) -> Response:
    """A small PNG of one image of an image dataset (paths are checked to stay inside the dataset's files)."""
    ds = access.dataset(db, user, dataset_id)
    root = datasets.files_root(settings, ds).resolve()
    try:
        file = (root / path).resolve()
        found = ds.kind == "images" and root in file.parents and file.is_file()
    except (OSError, ValueError):  # an embedded NUL or a name the filesystem refuses: no such image
        found = False
    if not found:
        raise not_found("image", path)
    return Response(_thumbnail_bytes(file), media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _thumbnail_bytes(file: Path) -> bytes:
    """FILE scaled down to at most THUMB_PX on its longer side, as PNG (the original bytes when unreadable)."""
    from PIL import Image

    try:
        with Image.open(file) as img:
            img.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB").save(out, format="PNG")
            return out.getvalue()
    except Exception:  # a file Pillow cannot read is served as it is; the browser may still show it
        kind = mimetypes.guess_type(file.name)[0] or ""
        if not kind.startswith("image/"):
            raise not_found("image", file.name) from None
        return file.read_bytes()
