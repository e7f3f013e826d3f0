"""Downloading a dataset as CSV or Parquet (a scoring's result above all): same rows and values as stored,
CSV written in batches, names in the header, bad formats refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from server.services import dataset_download
from tests.server.api import support
from tests.server.api.support import API, expect, expect_error, upload


def _get(api: Any, dataset_id: int, fmt: str) -> Any:
    return api.get(f"{API}/datasets/{dataset_id}/download", params={"format": fmt})


def test_parquet_download_is_the_stored_table(api: Any, project: str) -> None:
    columns = {"a": [1.5, 2.5, None], "b": ["x", "é ü", "x"], "c": [1, 2, 3]}
    body = expect(upload(api, project, "Ventes été", support.parquet_bytes(columns), "t.parquet"), 201)
    answer = _get(api, body["id"], "parquet")
    assert answer.status_code == 200
    assert "filename*=utf-8''Ventes%20%C3%A9t%C3%A9.parquet" in answer.headers["content-disposition"]
    assert pq.read_table(io.BytesIO(answer.content)).to_pydict() == columns


def test_csv_download_streams_every_row_in_batches(api: Any, project: str, monkeypatch: Any) -> None:
    monkeypatch.setattr(dataset_download, "CSV_BATCH_ROWS", 7)  # many batches: every boundary must join cleanly
    n = 100
    columns = {"id": list(range(n)), "name": [f"row, {i}" for i in range(n)], "v": [i / 4 for i in range(n)]}
    body = expect(upload(api, project, "scored", support.parquet_bytes(columns), "t.parquet"), 201)
    answer = _get(api, body["id"], "csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="scored.csv"')
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["id", "name", "v"]
    assert [[int(r[0]), r[1], float(r[2])] for r in rows[1:]] == [list(t) for t in zip(*columns.values(), strict=True)]


def test_csv_of_an_empty_table_is_its_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "b": pa.array([], pa.string())}), path)
    assert b"".join(dataset_download.csv_chunks(path)).decode().splitlines() == ['"a","b"']


def test_an_unknown_format_is_422_naming_the_formats(api: Any, project: str) -> None:
    body = expect(upload(api, project, "t", support.SMALL_CSV, "t.csv"), 201)
    error = expect_error(_get(api, body["id"], "xlsx"), 422, "bad_format")
    assert "parquet" in error["detail"] and "csv" in error["detail"]


def test_a_missing_dataset_is_404(api: Any, project: str) -> None:
    expect_error(_get(api, 987_654, "csv"), 404, "not_found")
