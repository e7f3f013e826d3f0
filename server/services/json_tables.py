"""JSON uploads, as APIs, databases and scrapers write them: an array of objects, one object per line (JSON Lines,
`.jsonl`, `.ndjson`), one object holding such an array (`{"data": [...]}`), or pandas' other layouts, rewritten as
records first (pandas_json). DuckDB's `read_json` reads them, streamed, its types inferred over the whole file;
nested objects become columns named by their path (`addr.city`), lists and values of mixed types their JSON text."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from server.errors import insufficient_storage, invalid, is_disk_full, without_paths
from server.services import csv_source, pandas_json, table_store, tables

SUFFIXES = (".json", ".jsonl", ".ndjson")
BATCH_ROWS = 65_536
# DuckDB's JSON reader works in 128 MiB buffers: below this limit a large array fails (one thread, measured).
MIN_MEMORY_MB = 384
# DuckDB's types that a dataset holds as they are; any other scalar (UUID, INTERVAL, BLOB, HUGEINT) is its text.
_KEPT = {"boolean", "tinyint", "smallint", "integer", "bigint", "utinyint", "usmallint", "uinteger", "ubigint"}
_KEPT |= {"float", "double", "decimal", "varchar", "date", "time", "timestamp", "timestamp with time zone"}
_NESTED = {"list", "array", "map", "union"}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(expr: str, name: str, kind: duckdb.DuckDBPyType) -> list[str]:
    """The select list for the value EXPR of type KIND, named NAME: a struct's fields each in its own column."""
    if kind.id == "struct":
        return [c for child, sub in kind.children for c in _columns(f"{expr}.{_quoted(child)}", f"{name}.{child}", sub)]
    if kind.id in _NESTED or str(kind) == "JSON":  # JSON: a field of values of several types ("a", then 5)
        return [f"json_extract_string(to_json({expr}), '$') AS {_quoted(name)}"]
    if kind.id not in _KEPT and not kind.id.startswith("timestamp"):
        return [f"CAST({expr} AS VARCHAR) AS {_quoted(name)}"]
    return [f"{expr} AS {_quoted(name)}"]


def _records(con: duckdb.DuckDBPyConnection, source: str) -> duckdb.DuckDBPyRelation:
    """SOURCE's records: the file's own rows, or the array of records that the one object it holds keeps under a
    key (`{"data": [...], "meta": {...}}`)."""
    rel = con.sql(f"SELECT * FROM {source}")
    listed = [
        c for c, t in zip(rel.columns, rel.types, strict=True) if t.id == "list" and t.children[0][1].id == "struct"
    ]
    if len(listed) != 1 or rel.count("*").fetchall() != [(1,)]:
        return rel
    return rel.project(f"unnest({_quoted(listed[0])}) AS record").project("record.*")


def store_json(upload: Path, dest: Path, memory_mb: int | None = None) -> table_store.Stored:
    """Store the JSON file UPLOAD as the Parquet file DEST, its records flattened (module docstring); 422 with
    DuckDB's reason when it is not JSON records. DuckDB holds at most MEMORY_MB (and at least MIN_MEMORY_MB)
    meanwhile, whatever the file's size."""
    with open(upload, "rb") as fh:
        utf16 = fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # PowerShell's Out-File writes UTF-16
    if utf16:
        text = csv_source.transcode(upload, "utf-16", upload.with_name(upload.name + ".utf8"))
        try:
            return _store_utf8(text, dest, memory_mb)
        finally:
            text.unlink(missing_ok=True)
    return _store_utf8(upload, dest, memory_mb)


def _store_utf8(upload: Path, dest: Path, memory_mb: int | None) -> table_store.Stored:
    """store_json of a UTF-8 file; one in a pandas layout other than records is rewritten as records first."""
    records = upload.with_name(upload.name + ".records.jsonl")
    try:
        try:
            layout = pandas_json.as_records(upload, records)
        except OSError as exc:
            if is_disk_full(exc):
                raise insufficient_storage("Storing the upload") from None
            raise
        return _read_records(records if layout else upload, dest, memory_mb)
    finally:
        records.unlink(missing_ok=True)


def _read_records(upload: Path, dest: Path, memory_mb: int | None) -> table_store.Stored:
    """Store UPLOAD, UTF-8 JSON records, read by DuckDB."""
    path = str(upload).replace("'", "''")
    # every record's types; objects of many keys as columns (DuckDB makes an object of over 200 keys a MAP)
    options = "format='auto', records='true', sample_size=-1, maximum_depth=8, map_inference_threshold=-1"
    source = f"read_json('{path}', {options})"
    # no temp_directory: nothing spills to disk (the default is a .tmp folder in the process's working directory)
    config = {"threads": 1, "memory_limit": f"{max(memory_mb or 0, MIN_MEMORY_MB)}MB", "temp_directory": ""}
    try:
        with duckdb.connect(":memory:", config=config) as con:
            rel = _records(con, source)
            select = [c for n, t in zip(rel.columns, rel.types, strict=True) for c in _columns(_quoted(n), n, t)]
            reader = rel.project(", ".join(select)).to_arrow_reader(BATCH_ROWS)  # the types inferred once
            return _store(reader, dest)
    except (duckdb.Error, pa.ArrowException) as exc:  # Arrow's: an error DuckDB meets while the batches stream
        if isinstance(exc, OSError) and is_disk_full(exc):
            raise insufficient_storage("Storing the upload") from None
        raise _not_json(exc, upload) from None


def _store(reader: pa.RecordBatchReader, dest: Path) -> table_store.Stored:
    """READER's batches stored in DEST, checked as a Parquet upload's are."""
    schema = reader.schema
    tables.check_names(schema.names, "JSON file")
    table_store.check_column_types(schema)
    stored = table_store.write(schema, reader, dest)
    if not stored.n_rows:
        raise invalid("The JSON file holds no records; upload a file with data.", code="empty_dataset")
    return stored


def _not_json(exc: BaseException, upload: Path) -> Any:
    """The 422 for DuckDB's error EXC on UPLOAD: its first line, without the server's paths."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    message = without_paths(message, upload)[:300]
    if "expected records" in message:  # `42`, `[[1, 2]]`, `[]`
        return invalid(
            "The JSON file holds no records: fitstudio reads an array of objects, one object per line, or one "
            "object holding such an array under a key.",
            code="bad_json",
        )
    if "Out of Memory" in message:
        return invalid(
            f"Reading the JSON file needs more memory than an upload may hold (FITSTUDIO_UPLOAD_MEMORY_MB, at least "
            f"{MIN_MEMORY_MB} MB): {message}",
            code="bad_json",
        )
    if "utf-8" in message.lower():
        return invalid(f"The JSON file is not UTF-8 text ({message}); save it as UTF-8.", code="bad_encoding")
    return invalid(
        f"The file could not be read as JSON records (an array of objects, or one object per line): {message}",
        code="bad_json",
    )
