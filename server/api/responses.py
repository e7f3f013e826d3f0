"""Answers outside the response models: JSON written once for hot read paths, and how file answers are documented."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi.responses import Response


def json_response(content: Any, status_code: int = 200) -> Response:
    """CONTENT as an application/json response, byte for byte what FastAPI writes for a `dict[str, Any]` route
    (pydantic's serializer: datetimes as ISO 8601 with Z, NaN and infinities as null)."""
    body = pydantic_core.to_json(content, inf_nan_mode="null")
    return Response(body, status_code=status_code, media_type="application/json")


def binary_file(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 of a route answering a file (a FileResponse) of one of MEDIA_TYPES."""
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": "The file", "content": {m: {"schema": schema} for m in media_types}}}


BINARY_FILE = binary_file("application/octet-stream")
