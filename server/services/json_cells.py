"""A table cell as JSON can carry it: NaN/inf as None, dates as ISO text, bytes as text."""

from __future__ import annotations

import math
from typing import Any


def json_value(value: Any) -> Any:
    """VALUE (one cell read from Arrow) in a form json.dumps accepts and a person can read."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
