"""Data files of statistics packages, as research data comes: SPSS (.sav, .zsav, .por), Stata (.dta) and SAS
(.sas7bdat, .xpt), read by pyreadstat in chunks and stored as Parquet. Value labels become the column's values
(`männlich`, not 1) where the column is a category, dates are dates, and SPSS's user-missing codes are missing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from server.errors import ApiError, invalid, without_paths
from server.services import table_store, tables

SUFFIXES = (".sav", ".zsav", ".por", ".dta", ".sas7bdat", ".xpt")
CHUNK_CELLS = 4_000_000  # the cells one chunk holds as a pandas frame: memory does not grow with the file
_DATE_FORMATS = ("DATE", "%TD", "%D", "MMDDYY", "DDMMYY", "YYMMDD", "EURDF", "WEEKDATE", "MONYY", "JULIAN")
_DATETIME_FORMATS = ("DATETIME", "%TC", "DATETIM", "YMDHMS", "E8601DT")
_TIME_FORMATS = ("TIME", "HHMM", "%TH")


def _reader(suffix: str) -> Callable[..., Any]:
    import pyreadstat

    readers = {".sav": pyreadstat.read_sav, ".zsav": pyreadstat.read_sav, ".por": pyreadstat.read_por}
    readers |= {".dta": pyreadstat.read_dta, ".sas7bdat": pyreadstat.read_sas7bdat, ".xpt": pyreadstat.read_xport}
    return readers[suffix]


def store(upload: Path, suffix: str, dest: Path) -> table_store.Stored:
    """Store the statistics file UPLOAD (SUFFIX) as the Parquet file DEST; 422 `bad_file` when it cannot be read."""
    import pyreadstat

    read = _reader(suffix)
    try:
        _, meta = read(str(upload), metadataonly=True)
    except Exception as exc:  # pyreadstat's ReadstatError and PyreadstatError, and what a damaged file raises
        raise _unreadable(exc, upload, suffix) from None
    names = list(meta.column_names)
    tables.check_names(names, "file")
    labelled = _labelled(meta)
    rows = max(1_000, CHUNK_CELLS // max(1, len(names)))
    chunks = pyreadstat.read_file_in_chunks(read, str(upload), chunksize=rows)
    schema = pa.schema([(n, _arrow_type(meta, n, n in labelled)) for n in names])

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for frame, _ in chunks:
                yield from _batches(frame, schema, labelled)
        except ApiError:
            raise
        except Exception as exc:  # a damaged file met part way
            raise _unreadable(exc, upload, suffix) from None

    stored = table_store.write(schema, batches(), dest)
    tables.check_rows(stored.n_rows, "file")
    return stored


def _labelled(meta: Any) -> dict[str, dict[Any, str]]:
    """The columns whose values are read as their labels: those with value labels, but for SPSS's scale columns
    (a measurement whose labels name a few codes)."""
    measures = getattr(meta, "variable_measure", None) or {}
    labels = getattr(meta, "variable_value_labels", None) or {}
    return {name: found for name, found in labels.items() if found and measures.get(name) != "scale"}


def _arrow_type(meta: Any, name: str, labelled: bool) -> pa.DataType:
    """How column NAME is stored: text for text and labelled columns, dates and times by the variable's display
    format, else a number."""
    if labelled or (meta.readstat_variable_types or {}).get(name) == "string":
        return pa.string()
    written = str((meta.original_variable_types or {}).get(name) or "").upper()
    if written.startswith(_DATETIME_FORMATS):
        return pa.timestamp("us")
    if written.startswith(_DATE_FORMATS):
        return pa.date32()
    if written.startswith(_TIME_FORMATS):
        return pa.time64("us")
    return pa.float64()


def _batches(frame: Any, schema: pa.Schema, labelled: dict[str, dict[Any, str]]) -> Iterator[pa.RecordBatch]:
    """FRAME (a chunk pyreadstat read) as batches of SCHEMA, LABELLED columns as their labels."""
    arrays = []
    for field in schema:
        values = frame[field.name]
        if field.name in labelled:
            names = labelled[field.name]
            values = values.map(lambda v, names=names: None if v != v or v is None else names.get(v, _as_text(v)))
        arrays.append(pa.array(values, type=field.type, from_pandas=True))
    yield from pa.Table.from_arrays(arrays, schema=schema).to_batches()


def _as_text(value: Any) -> str:
    """A value that has no label, as text: a whole number without `.0`."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _unreadable(exc: BaseException, upload: Path, suffix: str) -> ApiError:
    """The 422 for the reading error EXC, without the server's paths."""
    reason = without_paths(str(exc), upload)[:200]
    return invalid(f"The {suffix} file could not be read ({type(exc).__name__}: {reason}).", code="bad_file")
