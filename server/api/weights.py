"""Routes: the site-wide pre-trained weights store (data.md) — everyone may list it, site admins fill it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.api import raw_upload
from server.api.deps import CurrentUser, SettingsDep
from server.api.pagination import PageDep, paginate
from server.schemas.folders import WeightsFileOut
from server.services import access, weights

router = APIRouter(tags=["weights"])


# access.require_site_admin's sentence ends "Only site admins " + this.
_ADMINS_ONLY = "may change the weights store; ask one to import the file"


@router.get("/weights")
def list_weights(
    request: Request, response: Response, user: CurrentUser, settings: SettingsDep, page: PageDep
) -> list[WeightsFileOut]:
    """The files of the weights store, which every training sees as its Keras cache (`limit`/`cursor` pages)."""
    files = paginate(request, response, weights.list_files(settings), page, lambda f: (f["name"],))
    return [WeightsFileOut(**f) for f in files]


@router.put("/weights/{name}", status_code=201, openapi_extra={"requestBody": raw_upload.BINARY_BODY})
async def put_weights(name: str, request: Request, user: CurrentUser, settings: SettingsDep) -> WeightsFileOut:
    """Store the request body as weights file NAME (site admins), named as Keras asks for it."""
    access.require_site_admin(user, _ADMINS_ONLY)
    weights.check_name(name)
    info = await raw_upload.receive_and_store(
        request, settings, lambda tmp: weights.put(settings, name, tmp), "Storing the weights file"
    )
    return WeightsFileOut(**info)


@router.delete("/weights/{name}", status_code=204)
def delete_weights(name: str, user: CurrentUser, settings: SettingsDep) -> Response:
    """Remove a weights file (site admins)."""
    access.require_site_admin(user, _ADMINS_ONLY)
    weights.delete(settings, name)
    return Response(status_code=204)
