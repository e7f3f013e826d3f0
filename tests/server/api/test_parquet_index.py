"""A DataFrame's index in a Parquet file pandas wrote (server/services/parquet_index.py): pandas keeps it as columns
that its metadata names, and a dataset read through pandas had lost them. A named index (a time series'
`timestamp`), and an unnamed one of labels, become columns; a filtered frame's row numbers do not."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from tests.server.api.support import expect
from tests.server.api.test_csv_sources import _post, _read_back


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


def _stored(api: Any, project: str, frame: pd.DataFrame, name: str) -> tuple[dict[str, str], dict[str, list[Any]]]:
    body = expect(_post(api, project, "datasets", _parquet(frame), {"name": name}, f"{name}.parquet"), 201)
    return {c["name"]: c["type"] for c in body["columns"]}, _read_back(api, body)


def test_a_time_series_index_is_a_date_column(api: Any, project: str) -> None:
    frame = pd.DataFrame(
        {"temperature": [1.5, 2.0, 2.5]}, index=pd.date_range("2024-03-01", periods=3, freq="h", name="timestamp")
    )
    types, data = _stored(api, project, frame, "sensor")
    assert list(types) == ["timestamp", "temperature"] and types["timestamp"] == "date"
    assert data["timestamp"][1] == "2024-03-01T01:00:00" and data["temperature"] == [1.5, 2.0, 2.5]


def test_labels_are_an_index_column_and_row_numbers_are_left_out(api: Any, project: str) -> None:
    types, data = _stored(api, project, pd.DataFrame({"a": [1, 2, 3]}, index=["x", "y", "z"]), "labels")
    assert data == {"index": ["x", "y", "z"], "a": [1, 2, 3]}
    kept = pd.DataFrame({"a": [1, 2, 3, 4], "b": list("pqrs")})
    types, data = _stored(api, project, kept[kept["a"] % 2 == 1], "filtered")  # row numbers 0 and 2
    assert data == {"a": [1, 3], "b": ["p", "r"]}
    clash = pd.DataFrame({"index": [7, 8], "a": [1, 2]}, index=["x", "y"])
    types, data = _stored(api, project, clash, "clash")
    assert data == {"index_2": ["x", "y"], "index": [7, 8], "a": [1, 2]}


def test_a_multi_index_is_one_column_per_level(api: Any, project: str) -> None:
    index = pd.MultiIndex.from_tuples([("Nord", "2024"), ("Süd", "2024")], names=["region", None])
    types, data = _stored(api, project, pd.DataFrame({"sales": [10, 20]}, index=index), "multi")
    assert data == {"region": ["Nord", "Süd"], "index_1": ["2024", "2024"], "sales": [10, 20]}
