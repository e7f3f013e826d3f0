"""Pages: a dataset's schema and preview (with thumbnails for image datasets), and those thumbnails."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import DbDep, SettingsDep
from server.services import access, dataset_columns, dataset_images, datasets, deletes, projects
from webui.web import PageRoute, PageUser, render

router = APIRouter(route_class=PageRoute)
PREVIEW_ROWS = 50
GALLERY = 24


@router.get("/datasets/{dataset_id}", response_class=HTMLResponse)
def dataset_page(
    dataset_id: int,
    request: Request,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """Columns (type, stats, hints, histograms, a type selector for writers), the first rows, image thumbnails."""
    ds = access.dataset(db, user, dataset_id)
    if dataset_columns.ensure_stats(db, settings, ds):
        db.commit()
    preview = datasets.preview(settings, ds, PREVIEW_ROWS)
    project = projects.get(db, ds.project_id)
    context = {
        "project": project,
        "can_write": project is not None and access.rights(db, user, project).can_write,
        "column_types": dataset_columns.SETTABLE_TYPES,
        "histograms": {c["name"]: (c.get("stats") or {}).get("histogram") for c in ds.columns},
        "dataset": ds,
        "image_cache_bytes": datasets.image_cache_bytes(settings, ds),
        "preview": preview,
        "image_index": dataset_images.image_positions(ds, preview),
        "gallery": dataset_images.gallery(ds, preview, GALLERY),
        "used_by": deletes.dataset_users(db, ds),  # while analyses use it, the Delete dialog says it cannot go
    }
    return render(request, "dataset.html", context)


@router.get("/datasets/{dataset_id}/thumbnails/{path:path}")
def thumbnail(
    dataset_id: int,
    path: str,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
) -> Response:
    """A small PNG of one image of an image dataset (paths are checked to stay inside the dataset's files)."""
    ds = access.dataset(db, user, dataset_id)
    png = dataset_images.thumbnail_png(dataset_images.image_file(settings, ds, path))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
