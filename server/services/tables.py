"""Reading uploaded CSV tables into Arrow (streamed or whole), with errors a person can act on."""

from __future__ import annotations

import csv
import dataclasses
import io
import mmap
import re
import weakref
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from server.errors import ApiError, invalid
from server.services import csv_dialect, csv_numbers, csv_pacing, csv_rewrites
from server.services.csv_source import CsvSource

MAX_COLUMNS = 10_000
MAX_ROW_BYTES = 4 << 20  # one CSV line (the header or a row) may be at most 4 MiB (docs/security.md)
PEEK_BYTES = 64 << 10  # where a line end is looked for first, in each window of _check_line_lengths
PARSE_BLOCK_BYTES = 16 << 20  # the largest parse block (the default FITSTUDIO_UPLOAD_MEMORY_MB gives it)
# What an upload's streamed parse adds to the process: about FIXED_MB (the Parquet writer, the schema sample, what
# the allocators keep) and BLOCKS_HELD parse blocks: READ_AHEAD read ahead (csv_pacing), those being parsed (their
# fields, then their columns), the batch being written and the next one, the row group. Measured: 64 MiB and 11-12
# blocks (docs/benchmarks.md, "Upload memory").
FIXED_MB = 64
BLOCKS_HELD = 12


def block_bytes(memory_mb: int | None) -> int:
    """The parse block of an upload that may add MEMORY_MB to the process (None: the largest), at least MAX_ROW_BYTES
    (a row must fit in a block: 112 MiB or less gives it) and at most PARSE_BLOCK_BYTES (256 MiB or more)."""
    if memory_mb is None:
        return PARSE_BLOCK_BYTES
    return min(PARSE_BLOCK_BYTES, max(MAX_ROW_BYTES, ((memory_mb - FIXED_MB) << 20) // BLOCKS_HELD))


def check_names(names: list[str], what: str) -> None:
    """422 unless NAMES (a table's column names) are there, not too many, all named and unique."""
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


def check_rows(n_rows: int, what: str) -> None:
    """422 when the table has a header but no rows."""
    if n_rows == 0:
        raise invalid(f"The {what} has a header but no rows; upload a file with data.", code="empty_dataset")


def _check_columns(table: pa.Table, what: str) -> pa.Table:
    check_names(table.column_names, what)
    check_rows(table.num_rows, what)
    return table


def _row_too_long(offset: int) -> ApiError:
    return invalid(
        f"The CSV has a line longer than {MAX_ROW_BYTES >> 20} MB (starting at byte {offset}); "
        "split or shorten it, or upload Parquet.",
        code="row_too_long",
    )


def _check_line_lengths(path: Path, size: int) -> None:
    """422 row_too_long when a line of the file is longer than MAX_ROW_BYTES, found without reading the whole file.

    A line longer than MAX_ROW_BYTES covers at least one whole aligned window of MAX_ROW_BYTES / 2 bytes, so it is
    enough to look for a line end in each window (the first one is usually a few hundred bytes in) and to measure
    the line only around a window that has none.
    """
    if size <= MAX_ROW_BYTES:
        return
    window = MAX_ROW_BYTES // 2
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for start in range(0, size, window):
            end = min(start + window, size)
            # A read first, the map only when it finds no line end: the pages of the map that are touched count in
            # the process's resident memory, and the kernel maps whole page-cache folios (up to the whole file).
            fh.seek(start)
            peek = fh.read(min(PEEK_BYTES, end - start))
            if b"\n" in peek or b"\r" in peek or mm.find(b"\n", start, end) != -1 or mm.find(b"\r", start, end) != -1:
                continue
            line_start = max(mm.rfind(b"\n", 0, start), mm.rfind(b"\r", 0, start)) + 1
            stop = min(size, line_start + MAX_ROW_BYTES + 1)
            ends = [i for i in (mm.find(b"\n", end, stop), mm.find(b"\r", end, stop)) if i != -1]
            line_end = min(ends) if ends else stop
            if line_end - line_start > MAX_ROW_BYTES:
                raise _row_too_long(line_start)


def _check_header(head: bytes, delimiter: str) -> None:
    """Refuse a header with more than MAX_COLUMNS names before the parser builds a column for each."""
    text = head.decode("utf-8", "replace")
    try:
        count = len(next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), []))
    except csv.Error:  # a field over the csv module's size limit: count separators instead
        count = text.splitlines()[0].count(delimiter) + 1 if text else 0
    if count > MAX_COLUMNS:
        raise invalid(
            f"The CSV header has {count} columns; at most {MAX_COLUMNS} are supported.", code="too_many_columns"
        )


def check_csv(path: Path, delimiter: str = ",") -> None:
    """Refuse what the parser should never see (the file is UTF-8 by now): an empty or binary file, bad UTF-8 at
    the start, an over-long line, a header with too many columns."""
    size = path.stat().st_size
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
        if len(head) < 65536 or exc.start < len(head) - 4:
            raise invalid(
                f"The CSV is not UTF-8 (bad byte at offset {exc.start}). Give its encoding (the `encoding` "
                "field) or re-save it as UTF-8.",
                code="bad_encoding",
            ) from None
    _check_line_lengths(path, size)
    if b"\n" not in head and b"\r" not in head and size > len(head):
        with open(path, "rb") as fh:
            head = fh.read(MAX_ROW_BYTES + 1)
    _check_header(head, delimiter)


def read_options(
    source: CsvSource, column_types: dict[str, pa.DataType] | None = None, block: int | None = None
) -> dict[str, object]:
    """pyarrow.csv's read, parse and convert options for SOURCE, with COLUMN_TYPES fixed, in BLOCK-byte blocks
    (default PARSE_BLOCK_BYTES)."""
    types = dict(column_types or {})
    for name in source.number_columns:
        types.setdefault(name, pa.string())  # read as text, then csv_numbers.convert
    for name in [*source.code_columns, *source.formula_columns]:
        types.setdefault(name, pa.string())  # "01000" stays "01000"; ="00123" is unwrapped as text
    if source.header:
        names = source.names  # given only where the header has blank names: its row is then skipped
    else:
        names = [f"column_{i + 1}" for i in range(source.width)] if source.width else None
    return {
        "read_options": pacsv.ReadOptions(
            block_size=block or PARSE_BLOCK_BYTES,
            column_names=names,
            skip_rows=source.skip_lines + (1 if source.header and names else 0),
            skip_rows_after_names=source.units_lines,
            autogenerate_column_names=not source.header and not names,
        ),
        "parse_options": pacsv.ParseOptions(
            delimiter=source.delimiter, quote_char=source.quote or False, newlines_in_values=True
        ),
        "convert_options": pacsv.ConvertOptions(
            strings_can_be_null=True,
            column_types=types,
            null_values=source.null_values + _spaced_nulls(source),
            decimal_point=source.decimal,
        ),
    }


# The parser matches null markers before csv_dialect leaves the spaces out: "   NA" or a cell of spaces only would
# make a number column text. Up to this many spaces are matched (aligned columns rarely pad more).
SPACED_NULLS_UP_TO = 32


def _spaced_nulls(source: CsvSource) -> list[str]:
    """The null markers (and the empty cell) after 1 to SPACED_NULLS_UP_TO spaces, where spaces follow delimiters."""
    if not source.skip_initial_space:
        return []
    return [" " * n + v for v in source.null_values for n in range(1, SPACED_NULLS_UP_TO + 1)]


class ShortRows(ApiError):
    """The 422 for a row with fewer cells than the header, which a reader may pad (csv_rewrites) and read again."""

    def __init__(self, detail: str):
        """DETAIL: the parser's message."""
        super().__init__(422, "bad_csv", detail)


_SHORT_ROW = re.compile(r"Expected (\d+) columns, got (\d+)")


def parse_error(exc: pa.ArrowInvalid, block: int | None = None) -> ApiError:
    """The 422 a person can act on for the parser's error EXC (in BLOCK-byte blocks, default PARSE_BLOCK_BYTES)."""
    msg = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    short = _SHORT_ROW.search(msg)
    if short and int(short.group(2)) < int(short.group(1)):
        return ShortRows(f"The CSV could not be parsed: {msg}")
    if "utf8" in msg.lower() or "utf-8" in msg.lower():
        return invalid(
            "The CSV is not valid UTF-8. Give its encoding (the `encoding` field) or re-save it as UTF-8.",
            code="bad_encoding",
        )
    if "straddling" in msg.lower() or "block" in msg.lower():
        # A quoted value holding line breaks can make a row longer than its lines.
        return invalid(
            f"The CSV has a row longer than {(block or PARSE_BLOCK_BYTES) >> 20} MB; split or shorten it.",
            code="row_too_long",
        )
    return invalid(f"The CSV could not be parsed: {msg}", code="bad_csv")


def _check_text(schema: pa.Schema) -> None:
    binary = [f.name for f in schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    if binary:  # the parser keeps a column whose bytes are not UTF-8 as binary
        raise invalid(
            f"Column {binary[0]!r} of the CSV is not UTF-8 text. Give the file's encoding (the `encoding` field) "
            "or re-save it as UTF-8.",
            code="bad_encoding",
        )


def read_csv(path: Path, source: CsvSource) -> pa.Table:
    """Parse a CSV file that check_csv passed into an Arrow table in memory, types inferred from every row;
    422 with the reason when it cannot. Rows with fewer cells than the header are padded (SOURCE.short_rows)."""
    try:
        table = pacsv.read_csv(path, **read_options(source))  # type: ignore[arg-type]
    except pa.ArrowInvalid as exc:
        error = parse_error(exc)
        if not isinstance(error, ShortRows) or source.short_rows:
            raise error from None
        with csv_rewrites.padded(path, source, error) as padded:
            return read_csv(padded, source)
    _check_text(table.schema)
    try:
        batches = [_numbers(b, source) for b in table.to_batches()]
    except Retype as retype:  # a thousands-separated column with text further down: read it as text
        kept = [c for c in source.number_columns if c != retype.column]
        return read_csv(path, dataclasses.replace(source, number_columns=kept))
    if batches:
        table = pa.Table.from_batches(batches)
    return _check_columns(table, "CSV")


def _numbers(batch: pa.RecordBatch, source: CsvSource) -> pa.RecordBatch:
    """BATCH with the source's thousands-separated number columns as numbers (Retype to text when one is not) and
    its text formulas unwrapped; the spaces before its values left out when the source says so."""
    if source.skip_initial_space:
        batch = csv_dialect.without_initial_spaces(batch, source.null_values, source.quote)
    batch = csv_numbers.unwrap_formulas(batch, source.formula_columns)
    try:
        return csv_numbers.convert(batch, source.number_columns, source.decimal, source.thousands, source.units)
    except csv_numbers.NotNumber as exc:
        raise Retype(exc.column, pa.string()) from None


class Retype(Exception):
    """A later block of a streamed CSV holds a value the type inferred from the first block cannot take."""

    def __init__(self, column: str, wider: pa.DataType):
        """COLUMN needs the type WIDER."""
        super().__init__(f"column {column!r} needs {wider}")
        self.column = column
        self.wider = wider


_CONVERSION = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to (\w+): invalid value '(.*)'")


def _wider(current: str, value: str) -> pa.DataType:
    """The type a column inferred as CURRENT needs to hold VALUE as well (read_csv's order: null, int, float,
    then text)."""
    if current in ("null", "int64", "bool"):
        try:
            float(value)
            return pa.float64()
        except ValueError:
            pass
    return pa.string()


def open_paced(
    path: Path, options: dict[str, object], block: int | None = None
) -> tuple[pacsv.CSVStreamingReader, csv_pacing.PacedFile]:
    """pyarrow's streaming reader on PATH with OPTIONS, reading only a few blocks ahead of the batches taken
    (csv_pacing: call `taken` after each batch, `close` when done); 422 when it cannot start."""
    paced = csv_pacing.PacedFile(path)
    try:
        return pacsv.open_csv(paced, **options), paced  # type: ignore[arg-type]
    except pa.ArrowInvalid as exc:
        paced.close()
        raise parse_error(exc, block) from None
    except BaseException:
        paced.close()
        raise


def csv_batches(
    path: Path, source: CsvSource, column_types: dict[str, pa.DataType], block: int | None = None
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Stream a checked CSV (check_csv) as record batches: its schema (names checked), then the batches.

    Types come from the first BLOCK bytes (block_bytes) or COLUMN_TYPES; a later value that does not fit raises
    Retype naming the column and the wider type it needs, so the caller can start again with it.
    """
    reader, paced = open_paced(path, read_options(source, column_types, block), block)
    try:
        check_names(reader.schema.names, "CSV")
        _check_text(reader.schema)
    except BaseException:
        paced.close()
        raise
    schema = reader.schema
    if source.number_columns:
        numbers = set(source.number_columns)
        schema = pa.schema([pa.field(f.name, pa.float64()) if f.name in numbers else f for f in schema])

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    found = _CONVERSION.match(str(exc))
                    if found and found.group(2) != "string":
                        name = reader.schema.names[int(found.group(1))]
                        raise Retype(name, _wider(found.group(2), found.group(3))) from None
                    raise parse_error(exc, block) from None
                paced.taken()
                yield _numbers(batch, source)
        finally:
            paced.close()  # the reader's read-ahead thread, waiting for its turn, sees the end

    stream = batches()
    weakref.finalize(stream, paced.close)  # a stream dropped unstarted never runs its finally
    return schema, stream
