"""The preview of an upload before it is stored (`POST …/datasets/sniff`): a CSV's head (csv_sniff), or a workbook's
sheet, whose first rows are written out as a CSV and previewed as one, with the sheet read and the workbook's
sheets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.errors import ApiError
from server.services import csv_sniff, csv_source, datasets, image_zip, packed_tables, parse_process, spreadsheets
from server.settings import Settings

# A workbook is a ZIP (or an OLE file) whose directory is at its end: it is previewed whole, up to this size; the web
# UI previews larger ones only by uploading them.
WORKBOOK_BYTES = 64 << 20
SHEET_ROWS = 2_000  # the rows of a sheet written out for its preview: as many as a CSV's head gives its types


def head_bytes(filename: str) -> int:
    """How much of the file FILENAME a preview keeps: a workbook's whole (and one byte more, to tell it was larger),
    a CSV's head."""
    return WORKBOOK_BYTES + 1 if _is_workbook(filename) else csv_source.HEAD_BYTES


def preview_upload(settings: Settings, upload: Path, filename: str, fields: dict[str, str]) -> dict[str, Any]:
    """preview of UPLOAD; a workbook's in a parse process, as its upload is read: calamine aborts its process on
    some damaged .xlsb files (a Rust allocation failure), which must not be the API's."""
    limits = datasets.expansion_limits(settings)
    if _is_workbook(filename):
        return parse_process.run(settings, preview, upload, filename, fields, *limits)
    return preview(upload, filename, fields, *limits)


def _is_workbook(filename: str) -> bool:
    return Path(filename or "").suffix.lower() in spreadsheets.SUFFIXES and not packed_tables.packed_suffix(filename)


def preview(upload: Path, filename: str, fields: dict[str, str], max_bytes: int, reserve: int) -> dict[str, Any]:
    """{source, columns, rows} of UPLOAD as it would be read with FIELDS; a workbook's sheet is written out within
    MAX_BYTES and never into the disk's last RESERVE bytes. Nothing is kept."""
    if not _is_workbook(filename):
        return csv_sniff.sniff(upload, filename, fields)
    if upload.stat().st_size > WORKBOOK_BYTES:
        raise ApiError(
            413,
            "preview_too_large",
            f"Workbooks are previewed whole, up to {WORKBOOK_BYTES >> 20} MB, and this one is larger: upload it "
            "without a preview (its `source` says how it was read).",
        )
    budget = image_zip.Budget.on_disk_of(upload.parent, max_bytes, reserve)
    suffix = Path(filename).suffix.lower()
    with (
        spreadsheets.as_csv(upload, suffix, fields, budget, max_rows=SHEET_ROWS) as (sheet_csv, options, about),
        spreadsheets.sheet_named_in_errors(about),
    ):
        answer = csv_sniff.sniff(sheet_csv, "sheet.csv", options, whole="cut" not in about)
    return answer | {"source": spreadsheets.sheet_source(answer["source"], about)}
