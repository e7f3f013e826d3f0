"""Routes: the site-wide pre-trained weights store (data.md) — everyone may list it, site admins fill it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from server.api import raw_upload
from server.api.deps import current_user, settings_dep
from server.errors import ApiError, insufficient_storage, is_disk_full
from server.models import User
from server.schemas.folders import WeightsFileOut
from server.services import storage, weights
from server.settings import Settings

router = APIRouter(tags=["weights"])


def require_site_admin(user: User) -> None:
    """403 unless USER is a site admin."""
    if not user.is_admin:
        raise ApiError(403, "forbidden", "Only site admins may change the weights store; ask one to import the file.")


@router.get("/weights")
def list_weights(
    user: User = Depends(current_user), settings: Settings = Depends(settings_dep)
) -> list[WeightsFileOut]:
    """The files of the weights store, which every training sees as its Keras cache."""
    return [WeightsFileOut(**f) for f in weights.list_files(settings)]


@router.put(
    "/weights/{name}",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_weights(
    name: str, request: Request, user: User = Depends(current_user), settings: Settings = Depends(settings_dep)
) -> WeightsFileOut:
    """Store the request body as weights file NAME (site admins), named as Keras asks for it."""
    require_site_admin(user)
    weights.check_name(name)
    tmp = storage.upload_tmp(settings)
    try:
        await raw_upload.receive_file(request, tmp, settings)
        info = await run_in_threadpool(weights.put, settings, name, tmp)
    except OSError as exc:
        if is_disk_full(exc):
            raise insufficient_storage("Storing the weights file") from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return WeightsFileOut(**info)


@router.delete("/weights/{name}", status_code=204)
def delete_weights(
    name: str, user: User = Depends(current_user), settings: Settings = Depends(settings_dep)
) -> Response:
    """Remove a weights file (site admins)."""
    require_site_admin(user)
    weights.delete(settings, name)
    return Response(status_code=204)
