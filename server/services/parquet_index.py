"""A DataFrame's index in a Parquet file pandas wrote: pandas stores it as columns its own metadata names, and
reads them back as the index, so a dataset read through pandas had lost them (a time series' `timestamp` after
`set_index`, a customer id). They become columns: a named index keeps its name, an unnamed one of labels or dates
is `index` (pandas' `reset_index` name), and an unnamed one of whole numbers, the row numbers a filtered frame
keeps, is left out; pandas' metadata is not stored."""

from __future__ import annotations

import json
import re

import pyarrow as pa

_UNNAMED = re.compile(r"__index_level_(\d+)__")


def plan(schema: pa.Schema) -> tuple[pa.Schema, list[int]]:
    """The schema a Parquet file of SCHEMA is stored with, and which of its columns, in order, make it: the
    index's columns first (module docstring), then the others; the metadata without pandas' part."""
    metadata = dict(schema.metadata or {})
    try:
        index = json.loads(metadata.pop(b"pandas", b"{}")).get("index_columns") or []
    except (ValueError, AttributeError):
        index = []
    named = [c for c in index if isinstance(c, str) and c in schema.names]  # a RangeIndex is a dict: no column
    taken, names = [], []
    for column in named:
        position = schema.get_field_index(column)
        unnamed = _UNNAMED.fullmatch(column)
        if unnamed and pa.types.is_integer(schema.field(position).type):
            continue
        taken.append(position)
        if unnamed:
            level = unnamed.group(1)
            names.append(_free("index" if level == "0" else f"index_{level}", schema.names))
        else:
            names.append(column)
    taken += [i for i, name in enumerate(schema.names) if name not in named]
    names += [schema.names[i] for i in taken[len(names) :]]
    fields = [schema.field(i).with_name(name) for i, name in zip(taken, names, strict=True)]
    return pa.schema(fields, metadata=metadata or None), taken


def _free(name: str, taken: list[str]) -> str:
    """NAME, or NAME with a number after it when a column is already called so."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate
