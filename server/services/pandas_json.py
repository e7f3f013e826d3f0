"""JSON tables in pandas' other layouts, rewritten as one record per line for json_tables: `df.to_json()` writes a
DataFrame column by column (`{"a": {"0": 1, "1": 2}, "b": {...}}`, its default), and `orient="split"`, `"index"`
and `"values"` write `{"columns": [...], "data": [[...]]}`, `{"0": {"a": 1, ...}}` and `[[1, "x"], ...]`. Read as
records, the first three were one row of `a.0`, `a.1`, … columns and the last no records at all.

pandas writes such a file from a DataFrame in memory and reads it back whole; so does this, up to MAX_BYTES."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from server.errors import invalid

MAX_BYTES = 32 << 20  # held whole as Python objects (about 10 times the file); larger is a 422 saying what to write
_SPLIT_KEYS = ({"columns", "data"}, {"columns", "index", "data"}, {"name", "columns", "index", "data"})
INDEX_COLUMN = "index"  # the name of the labels column when the labels are not 0, 1, 2, … (pandas' own name)
_STRING = r'"(?:[^"\\]|\\.)*"'
# What a file in one of these layouts starts with: an object whose first value is an object or pandas' `columns`
# list, or an array of arrays. Other files (records, `{"data": [...]}`) are not read twice.
_OBJECT_OF_OBJECTS = re.compile(rf"\{{\s*{_STRING}\s*:\s*\{{")
_SPLIT_HEAD = re.compile(r'\{\s*"(?:name|columns|index)"\s*:')
_ARRAY_OF_ARRAYS = re.compile(r"\[\s*\[")
# pandas' own column layout with its default row labels, or its split layout: no other writer starts so
_PANDAS_HEAD = re.compile(rf'\{{\s*{_STRING}\s*:\s*\{{\s*"0"\s*:|\{{\s*"columns"\s*:\s*\[')


def as_records(upload: Path, dest: Path) -> str | None:
    """Write UPLOAD (UTF-8 JSON) as JSON Lines to DEST when it is a table in one of pandas' layouts, and return
    the layout's name (`columns`, `split`, `index`, `values`); None, writing nothing, when it is not one."""
    with open(upload, "rb") as handle:
        head = handle.read(4096).decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if not (_OBJECT_OF_OBJECTS.match(head) or _SPLIT_HEAD.match(head) or _ARRAY_OF_ARRAYS.match(head)):
        return None
    if upload.stat().st_size > MAX_BYTES:
        if _PANDAS_HEAD.match(head):
            raise invalid(
                f"This JSON file holds a table in one of pandas' layouts (column by column, or split), which is read "
                f"whole, up to {MAX_BYTES >> 20} MB; write it as records instead: "
                "df.to_json(path, orient='records', lines=True).",
                code="bad_json",
            )
        return None
    try:
        doc = json.loads(upload.read_bytes())
    except (ValueError, RecursionError):
        return None  # DuckDB's reading says what is wrong with it
    found = (_split(doc) or _by_column(doc) or _by_row(doc)) if isinstance(doc, dict) else _values(doc)
    if found is None:
        return None
    name, records = found
    with open(dest, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return name


def _split(doc: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """`{"columns": [...], "index": [...], "data": [[...], ...]}` as records; None when DOC is not so."""
    if not isinstance(doc, dict) or set(doc) not in _SPLIT_KEYS:
        return None
    columns, data = doc["columns"], doc["data"]
    if not isinstance(columns, list) or not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        return None
    if any(len(row) != len(columns) for row in data):
        raise invalid("The JSON file's `data` rows are not as long as its `columns`.", code="bad_json")
    names = [str(c) for c in columns]
    labels = _labels(doc.get("index"), len(data))
    return "split", [_with_label(dict(zip(names, row, strict=True)), labels, i) for i, row in enumerate(data)]


def _by_column(doc: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """`{"a": {"0": 1, "1": 2}, "b": {"0": "x", "1": "y"}}` (pandas' default) as records: every value an object of
    the same labels, and those labels the row numbers or at least not all the column names' kind."""
    if not _objects_of_same_keys(doc):
        return None
    labels = list(next(iter(doc.values())))
    if _numbered(list(doc)) and not _numbered(labels):
        return None  # row numbers outside: pandas' `orient="index"`
    if not _numbered(labels) and not _one_kind_each(doc.values()) and _one_kind_each(_transposed(doc, labels)):
        return None  # each inner object holds one row of values of several kinds: `orient="index"` with names
    rows = [{column: doc[column][label] for column in doc} for label in labels]
    kept = _labels(labels, len(labels))
    return "columns", [_with_label(row, kept, i) for i, row in enumerate(rows)]


def _by_row(doc: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """`{"0": {"a": 1, "b": "x"}, "1": {...}}` (pandas' `orient="index"`) as records."""
    if not _objects_of_same_keys(doc):
        return None
    labels = list(doc)
    kept = _labels(labels, len(labels))
    return "index", [_with_label(dict(doc[label]), kept, i) for i, label in enumerate(labels)]


def _values(doc: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """`[[1, "x"], [2, "y"]]` (pandas' `orient="values"`, a table without its names) as records of `column_1`, …"""
    if not isinstance(doc, list) or not doc or not all(isinstance(r, list) for r in doc):
        return None
    width = len(doc[0])
    if not width or any(len(r) != width or any(isinstance(v, dict | list) for v in r) for r in doc):
        return None
    names = [f"column_{i}" for i in range(1, width + 1)]
    return "values", [dict(zip(names, row, strict=True)) for row in doc]


def _objects_of_same_keys(doc: Any) -> bool:
    """Whether DOC is an object of two or more objects that all hold the same keys, at least one."""
    if not isinstance(doc, dict) or len(doc) < 2 or not all(isinstance(v, dict) for v in doc.values()):
        return False
    keys = [list(v) for v in doc.values()]
    return bool(keys[0]) and all(k == keys[0] for k in keys)


def _one_kind_each(columns: Any) -> bool:
    """Whether each of COLUMNS (objects of values) holds values of one JSON kind, nulls aside."""
    return all(len({_kind(v) for v in column.values() if v is not None}) <= 1 for column in columns)


def _kind(value: Any) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


def _transposed(doc: dict[str, dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """DOC's inner objects read the other way round: one object per inner key."""
    return [{outer: doc[outer][label] for outer in doc} for label in labels]


def _numbered(labels: list[Any]) -> bool:
    """Whether LABELS are pandas' default row labels: 0, 1, 2, … as text."""
    return all(str(label) == str(i) for i, label in enumerate(labels))


def _labels(labels: Any, rows: int) -> list[Any] | None:
    """The row labels worth a column: None for pandas' default 0, 1, 2, … (or none given)."""
    if not isinstance(labels, list) or len(labels) != rows or _numbered(labels):
        return None
    return labels


def _with_label(record: dict[str, Any], labels: list[Any] | None, i: int) -> dict[str, Any]:
    """RECORD with its row label first, as column INDEX_COLUMN, when the labels are kept."""
    return record if labels is None or INDEX_COLUMN in record else {INDEX_COLUMN: labels[i], **record}
