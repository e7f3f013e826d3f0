"""The column types a whole CSV needs, found in one streamed pass: what a late value wider than the first parse
block's type calls for, without reading the file into memory."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from server.services import tables
from server.services.csv_source import CsvSource


def widened(
    path: Path, source: CsvSource, first: pa.Schema, column_types: dict[str, pa.DataType], block: int | None = None
) -> dict[str, pa.DataType]:
    """COLUMN_TYPES completed with the type each column of FIRST (the streamed reader's schema) needs to hold every
    value of the checked CSV at PATH, widened as a whole-file read infers (null, integer, number, then text).

    The columns still to settle are read as text in BLOCK-byte parse blocks (tables.block_bytes), and each block's
    values are cast to the column's type so far: memory holds a few blocks whatever the file's size.
    """
    numbers = set(source.number_columns)  # read as text and converted by csv_numbers, which retypes them itself
    types = {f.name: column_types.get(f.name, f.type) for f in first if f.name not in numbers}
    open_ = [name for name, kind in types.items() if not _is_text(kind)]
    if not open_:
        return dict(column_types)
    options = tables.read_options(source, {name: pa.string() for name in open_}, block)
    options["convert_options"].include_columns = open_  # type: ignore[attr-defined]
    reader, paced = tables.open_paced(path, options, block)
    try:
        for batch in reader:
            paced.taken()
            for name in open_:
                types[name] = _fit(batch.column(name), types[name], source.decimal)
            open_ = [name for name in open_ if not _is_text(types[name])]
            if not open_:
                break
    except pa.ArrowInvalid as exc:
        raise tables.parse_error(exc, block) from None
    finally:
        paced.close()
    return {**column_types, **{name: kind for name, kind in types.items() if kind != first.field(name).type}}


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _fit(values: pa.Array, kind: pa.DataType, decimal: str) -> pa.DataType:
    """The narrowest type from KIND up that holds VALUES (text, with missing values already null) and every value
    KIND held before."""
    if values.null_count == len(values):
        return kind
    for candidate in _ladder(kind):
        if _parses(values, candidate, decimal):
            return candidate
    return pa.string()


def _ladder(kind: pa.DataType) -> list[pa.DataType]:
    """The types a column of KIND may widen to, narrowest first (text, always possible, left out)."""
    if pa.types.is_null(kind):
        return [pa.int64(), pa.bool_(), pa.date32(), pa.timestamp("s"), pa.float64()]
    if pa.types.is_integer(kind):
        return [kind, pa.float64()]
    if pa.types.is_date(kind):
        return [kind, pa.timestamp("s")]
    return [kind]


def _parses(values: pa.Array, kind: pa.DataType, decimal: str) -> bool:
    """True when every non-null text of VALUES reads as KIND (numbers with DECIMAL as the decimal point)."""
    if pa.types.is_floating(kind) and decimal != ".":
        values = pc.replace_substring(values, decimal, ".")
    try:
        pc.cast(values, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True
