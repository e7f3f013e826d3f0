"""Store an uploaded table as the dataset's Parquet file in one streaming pass: memory stays bounded by a few
parse blocks whatever the file's size (docs/benchmarks.md, ingest)."""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.data import open_parquet  # noqa: F401 - the services read stored files through table_store
from server.errors import ApiError, invalid
from server.services import csv_rewrites, csv_source, csv_widen, parquet_index, tables
from server.services.csv_source import CsvSource
from server.services.totals_row import without_totals_row

SAMPLE_ROWS = 50_000  # rows kept for schema inference (the rest only passes through)
MAX_RETYPES = 4  # passes that take the CSV reader's wider type; later ones read the column as text
MAX_PASSES = 64  # a bound that no real file reaches (each pass widens a column: integer, number, text)
PARQUET_BATCH_ROWS = 65_536
# A column's dictionary falls back to plain encoding once it passes this size. At Parquet's default (1 MiB, 131k
# distinct float64s, more than a parse block's rows) a column of distinct numbers was dictionary-encoded whole in
# every row group: the write took twice as long and the file was larger (docs/benchmarks.md, "Uploads: the
# Parquet write's dictionaries").
DICTIONARY_PAGE_BYTES = 128 << 10


@dataclass
class Stored:
    """What was written: the row count, the first SAMPLE_ROWS rows and, for a CSV, how it was read."""

    n_rows: int
    sample: pa.Table
    source: CsvSource | None = None


def write(schema: pa.Schema, batches: Iterable[pa.RecordBatch], dest: Path) -> Stored:
    """Write BATCHES (of SCHEMA) to the Parquet file DEST, keeping a sample; DEST is removed on any error."""
    n_rows, kept, kept_rows = 0, [], 0
    try:
        with pq.ParquetWriter(dest, schema, dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES) as writer:
            for batch in _read_ahead(batches):
                if not batch.num_rows:
                    continue
                writer.write_batch(batch)
                n_rows += batch.num_rows
                if kept_rows < SAMPLE_ROWS:
                    kept.append(batch.slice(0, SAMPLE_ROWS - kept_rows))
                    kept_rows += kept[-1].num_rows
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return Stored(n_rows, pa.Table.from_batches(kept, schema=schema))


def _read_ahead(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """BATCHES with the next one parsed in a thread while the current one is written (both release the GIL):
    parse and write overlap, and memory holds two batches."""
    items = iter(batches)
    with ThreadPoolExecutor(1, thread_name_prefix="fitstudio-ingest") as pool:
        pending = pool.submit(next, items, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, items, None)
            yield batch


def store_csv(upload: Path, dest: Path, fields: dict[str, str] | None = None, memory_mb: int | None = None) -> Stored:
    """Parse the CSV UPLOAD into the Parquet file DEST, read as the reading options in FIELDS say and as detected
    for the others (csv_source); 415/422 with the reason when it cannot. A file that is not UTF-8 is first
    turned into UTF-8 beside UPLOAD, streamed. The parse holds about MEMORY_MB (FITSTUDIO_UPLOAD_MEMORY_MB; None:
    the largest parse blocks) whatever the file's size."""
    with csv_source.read_as_utf8(upload, fields or {}) as (source, text):
        return _store_utf8(text, dest, source, tables.block_bytes(memory_mb))


def _store_utf8(upload: Path, dest: Path, source: CsvSource, block: int) -> Stored:
    """_store_parsed, and again on a copy (csv_rewrites) when the parse met the header repeated (files joined
    together: source.repeats) or a row with fewer cells than the header (source.short_rows)."""
    # Each copy is made only for a file that needs it (most need none), after the parse met what it fixes.
    try:
        return _store_parsed(upload, dest, source, block)
    except tables.ShortRows as exc:
        if source.short_rows:
            raise
        # A "sep=;" line of a second file joined on is a short row: its repeats go first, then what is left short
        fix = (
            csv_rewrites.once if _repeats_again(upload, source) else functools.partial(csv_rewrites.padded, refused=exc)
        )
    except RepeatedHeader:
        fix = csv_rewrites.once
    gc.collect()
    with fix(upload, source) as fixed:
        return _store_utf8(fixed, dest, source, block)


def _may_repeat_header(upload: Path, source: CsvSource, schema: pa.Schema) -> bool:
    """Whether the header is repeated in the file beyond the head that detection looked at, while its first parse
    block's columns are all text (a repeat there makes every column text). A repeat further down makes a later
    block change a column's type, and is looked for then; a file of numbers is never searched."""
    text_only = all(pa.types.is_string(f.type) or pa.types.is_null(f.type) for f in schema)
    return text_only and _repeats_again(upload, source)


def _repeats_again(upload: Path, source: CsvSource) -> bool:
    """Whether UPLOAD holds the header (or its "sep=" line) again, when that was not looked for in all of it."""
    return (
        source.repeats is None
        and bool(source.repeated_lines)
        and csv_rewrites.holds_again(upload, set(source.repeated_lines))
    )


class RepeatedHeader(Exception):
    """A later type change came from the header repeated further down (files joined together): read it without."""


def _store_parsed(upload: Path, dest: Path, source: CsvSource, block: int) -> Stored:
    """store_csv on a UTF-8 file, streamed in BLOCK-byte parse blocks: memory holds a few of them (csv_pacing)
    whatever the file's size; each block's batch is one row group of the Parquet file.

    Column types come from the first block (4-16 MiB). When a later value needs a wider type (a number column with
    text further down), one streamed pass finds every column's type over the whole file (csv_widen), and the file
    is streamed again with them, as pyarrow.csv.read_csv would infer them but never read whole.
    """
    tables.check_csv(upload, source.delimiter)
    column_types: dict[str, pa.DataType] = {}
    widened = False
    for attempt in range(MAX_PASSES):
        schema, batches = tables.csv_batches(upload, source, column_types, block)
        if not attempt and _may_repeat_header(upload, source, schema):
            raise RepeatedHeader
        empty_rows = [0]
        totals: list[str] = []
        try:
            stored = write(schema, without_totals_row(without_empty_rows(batches, empty_rows), totals), dest)
        except tables.Retype as exc:
            # Only the names are kept: the exception's frames hold the stopped reader and its read-ahead blocks.
            column, wider = exc.column, exc.wider
        else:
            tables.check_rows(stored.n_rows, "CSV")
            # As it was read in the end: a number column with text further down is text.
            stored.source = replace(source, empty_rows=empty_rows[0], totals_row=totals[0] if totals else None)
            return stored
        del batches
        gc.collect()
        if _repeats_again(upload, source):
            raise RepeatedHeader  # a repeat beyond the head that detection looked at: costs nothing to other files
        if column in source.number_columns:  # thousands-separated numbers with text further down
            source = replace(source, number_columns=[c for c in source.number_columns if c != column])
        elif not widened:
            column_types = csv_widen.widened(upload, source, schema, column_types, block)
            widened = True
        # The widening pass casts as Arrow's compute does; where the CSV reader disagrees, its own word wins
        # (text after a few tries: every pass makes a column strictly wider, so this ends).
        failed = schema.field(column).type
        if column_types.get(column, failed) == failed:
            column_types[column] = wider if attempt < MAX_RETYPES else pa.string()
    raise invalid("The CSV's column types could not be settled; upload it as Parquet.", code="bad_csv")


def without_empty_rows(batches: Iterable[pa.RecordBatch], dropped: list[int]) -> Iterator[pa.RecordBatch]:
    """BATCHES without the rows at their end that hold no value (the lines of separators alone, `;;;`, that Excel
    writes below a table where cells were once formatted), counted in DROPPED[0]. Such rows with data after them
    are rows of the table, kept: they are held back until a row with a value comes."""
    pending: list[pa.RecordBatch] = []
    for batch in batches:
        if not batch.num_rows or not batch.num_columns:
            yield batch
            continue
        held = functools.reduce(pc.or_, (pc.is_valid(column) for column in batch.columns))
        with_values = np.flatnonzero(held.to_numpy(zero_copy_only=False))
        if not len(with_values):
            pending.append(batch)
            continue
        yield from pending
        pending = []
        end = int(with_values[-1]) + 1
        yield batch.slice(0, end) if end < batch.num_rows else batch
        if end < batch.num_rows:
            pending.append(batch.slice(end))
    dropped[0] = sum(b.num_rows for b in pending)


def store_parquet(upload: Path, dest: Path) -> Stored:
    """Copy the Parquet file UPLOAD into DEST batch by batch; 415 when it is not Parquet."""
    try:
        source = pq.ParquetFile(upload, pre_buffer=False)  # row group by row group, not the whole file ahead
        schema = source.schema_arrow
    except (pa.ArrowInvalid, OSError) as exc:
        raise _not_parquet(exc, upload) from None
    schema, taken = parquet_index.plan(schema)  # a DataFrame's index as columns
    tables.check_names(schema.names, "Parquet file")
    # Text as string views (Polars 1.38 wrote them, Rust's arrow can) is stored as plain text, which every reader
    # of the dataset (pandas, the statistics, the training child) handles.
    viewed = any(pa.types.is_string_view(f.type) for f in schema)
    fields = [f.with_type(pa.string()) if pa.types.is_string_view(f.type) else f for f in schema]
    schema = pa.schema(fields, metadata=schema.metadata)
    check_column_types(schema)

    def batches() -> Iterable[pa.RecordBatch]:
        try:
            for read in source.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                batch = pa.RecordBatch.from_arrays([read.column(i) for i in taken], names=schema.names)
                yield batch.cast(schema) if viewed else batch
        except (pa.ArrowInvalid, OSError) as exc:
            raise _not_parquet(exc, upload) from None

    stored = write(schema, batches(), dest)
    tables.check_rows(stored.n_rows, "Parquet file")
    return stored


def _supported(kind: pa.DataType) -> bool:
    """True for the column types a dataset can hold: numbers, booleans, text, dates and times."""
    if pa.types.is_dictionary(kind):
        return _supported(kind.value_type) and not pa.types.is_dictionary(kind.value_type)
    checks = (
        pa.types.is_null,
        pa.types.is_boolean,
        pa.types.is_integer,
        pa.types.is_floating,
        pa.types.is_decimal,
        pa.types.is_string,
        pa.types.is_large_string,
        pa.types.is_temporal,
    )
    return any(check(kind) for check in checks) and not pa.types.is_interval(kind)


def check_column_types(schema: pa.Schema) -> None:
    """422 unsupported_column naming the first column whose type (binary, struct, list, map, …) we cannot use."""
    for column in schema:
        if not _supported(column.type):
            raise invalid(
                f"Column {column.name!r} of the Parquet file has type {column.type}, which datasets cannot hold "
                "(supported: numbers, booleans, text, dates and times). Drop or convert it and upload again.",
                errors=[{"field": column.name, "message": f"unsupported type {column.type}"}],
                code="unsupported_column",
            )


def _not_parquet(exc: Exception, upload: Path) -> ApiError:
    detail = str(exc).replace(str(upload), "<upload>")[:200]
    return ApiError(415, "unsupported_file", f"This file is not a readable Parquet file ({detail}).")
