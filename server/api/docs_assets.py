"""/docs (Swagger UI) and /redoc (ReDoc) from packaged assets, so the API's documentation works offline.

FastAPI's own pages load their JavaScript and CSS from a CDN; a self-hosted service may have no internet. The
assets come from the `fastapi-offline` package (only its static files are used), served under /docs-assets/.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_JS = f"{ASSETS_URL}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{ASSETS_URL}/swagger-ui.css"
REDOC_JS = f"{ASSETS_URL}/redoc.standalone.js"
FAVICON = f"{ASSETS_URL}/favicon.png"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
# validatorUrl None: Swagger UI would otherwise put an image from validator.swagger.io on the page (no network).
SWAGGER_PARAMETERS = {"validatorUrl": None, "persistAuthorization": True}


# ReDoc's side menu always shows Redocly's logo from their CDN: offline a failed request and a CSP violation.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
BLANK_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@cache
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle with its one external image replaced by a blank one (read once)."""
    bundle = (ASSETS_DIR / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_LOGO, BLANK_IMAGE)


def install(app: FastAPI) -> None:
    """Serve /docs, /docs/oauth2-redirect, /redoc and their assets on APP (created with docs_url=None)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(REDOC_JS, include_in_schema=False)  # before the mount, which would otherwise serve the file as it is
    async def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})

    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=FAVICON,
            oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
