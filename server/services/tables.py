"""Reading uploaded tables (CSV, Parquet) into Arrow, with errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from server.errors import ApiError, invalid

MAX_COLUMNS = 10_000


def _check_columns(table: pa.Table, what: str) -> pa.Table:
    names = table.column_names
    if not names:
        raise invalid(f"The {what} has no columns.", code="empty_dataset")
    if len(names) > MAX_COLUMNS:
        raise invalid(
            f"The {what} has {len(names)} columns; at most {MAX_COLUMNS} are supported.", code="too_many_columns"
        )
    blank = [i for i, n in enumerate(names) if not str(n).strip()]
    if blank:
        raise invalid(
            f"Column {blank[0] + 1} of the {what} has no name; give every column a header.", code="bad_header"
        )
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise invalid(
                f"Column name {n!r} appears twice in the {what}; column names must be unique.", code="bad_header"
            )
        seen.add(n)
    if table.num_rows == 0:
        raise invalid(f"The {what} has a header but no rows; upload a file with data.", code="empty_dataset")
    return table


def read_csv(path: Path) -> pa.Table:
    """Parse a CSV file (UTF-8, header row) into an Arrow table; 415/422 with the reason when it cannot."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise invalid("The CSV file is empty; upload a file with a header row and data.", code="empty_dataset")
    if b"\x00" in head:
        raise ApiError(415, "unsupported_file", "This file is binary, not a CSV. Upload a text CSV, Parquet or ZIP.")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character may be cut at the 64 KiB boundary; only fail on errors well inside it.
        if exc.start < len(head) - 4:
            raise invalid(
                f"The CSV is not UTF-8 (bad byte at offset {exc.start}). Re-save it as UTF-8 and upload again.",
                code="bad_encoding",
            ) from None
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        msg = str(exc).splitlines()[0][:300]
        if "utf8" in msg.lower() or "utf-8" in msg.lower():
            raise invalid(
                "The CSV is not valid UTF-8. Re-save it as UTF-8 and upload again.", code="bad_encoding"
            ) from None
        if "straddling" in msg.lower() or "block" in msg.lower():
            raise invalid("The CSV has a row longer than 16 MB; split or shorten it.", code="bad_csv") from None
        raise invalid(f"The CSV could not be parsed: {msg}", code="bad_csv") from None
    return _check_columns(table, "CSV")


def _without_path(exc: Exception, path: Path) -> str:
    """EXC's first 200 characters with the server-side upload path left out."""
    return str(exc).replace(str(path), "<upload>")[:200]


def read_parquet(path: Path) -> pa.Table:
    """Read a Parquet file into an Arrow table; 415 when it is not Parquet."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ApiError(
            415, "unsupported_file", f"This file is not a readable Parquet file ({_without_path(exc, path)})."
        ) from None
    return _check_columns(table, "Parquet file")
