"""A dataset as a file to download (a scoring's result above all): its stored Parquet as is, or CSV written in
batches, so a dataset of any size streams in bounded memory."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyarrow.csv as pacsv

from server.errors import ApiError
from server.models import Dataset
from server.services import table_store
from server.services.datasets import parquet_path
from server.settings import Settings

FORMATS = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8"}
CSV_BATCH_ROWS = 16_384  # rows a CSV chunk holds: a few MB of text, whatever the dataset's size


def stored_file(settings: Settings, dataset: Dataset) -> Path:
    """The dataset's Parquet file; 409 when it is missing (the upload has not finished, or the files were lost)."""
    path = parquet_path(settings, dataset)
    if not dataset.path or not path.is_file():
        raise ApiError(409, "no_data_file", f"Dataset {dataset.id} has no stored data to download (yet).")
    return path


def check_format(fmt: str) -> str:
    """FMT if it is one of FORMATS; 422 naming them otherwise."""
    if fmt not in FORMATS:
        raise ApiError(422, "bad_format", f"format={fmt!r}: use one of {', '.join(FORMATS)}.")
    return fmt


def disposition(dataset: Dataset, fmt: str) -> str:
    """The Content-Disposition of the download: the dataset's name with the format's extension (RFC 6266)."""
    name = f"{dataset.name}.{fmt}"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=utf-8''{quote(name)}"


def csv_chunks(path: Path) -> Iterator[bytes]:
    """The Parquet file at PATH as CSV (a header, then the rows, as pyarrow writes them), a batch at a time."""
    parquet = table_store.open_parquet(path)
    sink = io.BytesIO()
    writer = pacsv.CSVWriter(sink, parquet.schema_arrow)
    for batch in parquet.iter_batches(batch_size=CSV_BATCH_ROWS):
        writer.write_batch(batch)
        yield sink.getvalue()
        sink.seek(0)
        sink.truncate()
    writer.close()
    if sink.getvalue():
        yield sink.getvalue()
