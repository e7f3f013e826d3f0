"""The preview of an upload before it is stored: how the CSV would be read, its columns and first rows."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa

from server.errors import ApiError, invalid
from server.services import csv_dialect, csv_rewrites, csv_source, packed_tables, table_store, tables, totals_row
from server.services.json_cells import json_value
from server.services.type_inference import infer_schema

PREVIEW_ROWS = 20


def _whole_rows(text: str, source: csv_source.CsvSource) -> str:
    """TEXT up to the end of its last complete row (a quoted value the head cuts starts a row left out)."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(iter(lines), delimiter=source.delimiter, quotechar=source.quote or "\x00", strict=True)
    done = 0
    try:
        for _ in reader:
            done = reader.line_num
    except csv.Error:
        pass
    return "".join(lines[:done])


def _parse_head(text: str, source: csv_source.CsvSource, work: Path) -> pa.Table:
    """TEXT (the file's head in UTF-8) as a table; when its last row is cut (a quoted value running past the
    head), without that row."""
    try:
        return _parse(text, source, work)
    except ApiError as exc:
        if exc.code not in ("bad_csv", "row_too_long"):
            raise
        shorter = _whole_rows(text, source)
        if not shorter or len(shorter) == len(text):
            raise
        return _parse(shorter, source, work)


def _parse(text: str, source: csv_source.CsvSource, work: Path) -> pa.Table:
    work.write_text(text, encoding="utf-8", newline="")
    if not source.quoted_after_space:
        tables.check_csv(work, source.delimiter)
        return tables.read_csv(work, source)
    with csv_rewrites.quotes_after_spaces_read(work, source) as unspaced:  # as read_as_utf8 rewrites the upload
        tables.check_csv(unspaced, source.delimiter)
        return tables.read_csv(unspaced, source)


def _ended(table: pa.Table, source: csv_source.CsvSource) -> tuple[pa.Table, csv_source.CsvSource]:
    """TABLE (a whole file) without the rows of separators alone at its end and a totals row, as table_store leaves
    them out, and SOURCE saying so."""
    empty, totals = [0], []
    batches = list(totals_row.without_totals_row(table_store.without_empty_rows(table.to_batches(), empty), totals))
    kept = pa.Table.from_batches(batches, schema=table.schema)
    return kept, dataclasses.replace(source, empty_rows=empty[0], totals_row=totals[0] if totals else None)


def sniff(upload: Path, filename: str, fields: dict[str, str], whole: bool = True) -> dict[str, Any]:
    """{source, columns, rows} for the head of the CSV UPLOAD read with FIELDS' reading options; nothing kept. A
    compressed CSV (`.csv.gz`) is previewed from what its head decompresses to. An UPLOAD smaller than the head,
    when WHOLE (not a compressed file's cut head), is the whole file: its end is read as the upload reads it."""
    packed = packed_tables.packed_suffix(filename)
    inner = packed.rsplit(".", 1)[0] if packed else Path(filename or "").suffix.lower()
    if inner not in csv_source.DELIMITED:
        raise invalid(
            f"File {filename!r} is not {csv_source.DELIMITED_NAMES}; only CSV files and workbooks (.xlsx, .xlsm, "
            ".xls, .xlsb, .ods) are previewed.",
            code="unsupported_file",
        )
    if packed:
        compression = packed_tables.COMPRESSIONS[packed.removeprefix(inner)]
        head = upload.with_name(upload.name + ".decompressed")
        try:
            head.write_bytes(packed_tables.head(upload, compression, csv_source.HEAD_BYTES))
            answer = sniff(head, "head" + inner, fields, whole=False)
            answer["source"]["compression"] = compression  # as the upload's source says it
            return answer
        finally:
            head.unlink(missing_ok=True)
    work = upload.with_name(upload.name + ".sniff")
    try:
        source = csv_source.detect(upload, fields, work)
        text = csv_source.head_text(upload, source.encoding)
        text = csv_dialect.whitespace_as_tabs(text) if source.whitespace else text
        titles = {"titles": source.skip_lines, "delimiter": source.delimiter}  # as the upload leaves them out
        text, _ = csv_rewrites.without_repeats(text, set(source.repeated_lines), **titles)
        table = _parse_head(text, source, work)
    finally:
        work.unlink(missing_ok=True)
    if whole and upload.stat().st_size < csv_source.HEAD_BYTES:  # the whole file: its end as the upload reads it
        table, source = _ended(table, source)
    columns = [{"name": c["name"], "type": c["type"]} for c in infer_schema(table.to_pandas())]
    names = table.column_names
    rows = [[json_value(r.get(n)) for n in names] for r in table.slice(0, PREVIEW_ROWS).to_pylist()]
    return {"source": source.as_dict(), "columns": columns, "rows": rows}
