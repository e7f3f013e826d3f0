"""A CSV upload's reading options as the Python client takes them (keyword arguments) and sends them (fields)."""

from __future__ import annotations

import json
from typing import Any

# data.md "Reading a table"; the server's csv_options.OPTION_FIELDS
READING_OPTIONS = ("delimiter", "quote", "header", "encoding", "decimal", "thousands", "null_values", "skip_rows")
READING_OPTIONS += (
    "skip_initial_space",
    "skip_rows_after_header",
    "member",
    "sheet",
)  # the table of a .zip holding several; a workbook's sheet

# What a preview sends (Project.preview_dataset): the head the service detects a CSV's options on (its
# csv_source.HEAD_BYTES), and a workbook whole (its directory is at its end).
PREVIEW_BYTES = 4 << 20
WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


def reading_fields(options: dict[str, Any]) -> dict[str, str]:
    """OPTIONS as the upload's multipart fields: booleans true/false, None none, lists JSON; TypeError for an
    unknown one (the server would leave it unread)."""
    unknown = sorted(set(options) - set(READING_OPTIONS))
    if unknown:
        raise TypeError(f"unknown reading option(s) {', '.join(unknown)}; the options are {', '.join(READING_OPTIONS)}")
    return {name: _field(value) for name, value in options.items()}


def _field(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return json.dumps(list(value)) if isinstance(value, list | tuple) else str(value)
