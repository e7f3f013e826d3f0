"""JSON files as pandas writes a DataFrame (server/services/pandas_json.py): `df.to_json()`'s default, column by
column, and the `split`, `index` and `values` layouts are read as the table they hold, rows labelled otherwise than
0, 1, 2, … keeping their labels in an `index` column. They were one row of `a.0`, `a.1`, … columns, or refused."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from server.services import pandas_json
from tests.server.api.support import expect, expect_error
from tests.server.api.test_csv_sources import _read_back
from tests.server.api.test_json_uploads import _send

FRAME = pd.DataFrame(
    {
        "city": ["Köln", "Zürich", None, "Oslo"],
        "amount": [12.5, 3.0, 7.25, None],
        "visits": [3, 1, 4, 1],
        "member": [True, False, True, True],
    }
)
EXPECTED = {
    "city": ["Köln", "Zürich", None, "Oslo"],
    "amount": [12.5, 3.0, 7.25, None],
    "visits": [3, 1, 4, 1],
    "member": [True, False, True, True],
}


@pytest.mark.parametrize("orient", [None, "columns", "split", "index", "records", "table"])
def test_a_dataframe_written_by_pandas_reads_as_its_table(api: Any, project: str, orient: str | None) -> None:
    payload = (FRAME.to_json() if orient is None else FRAME.to_json(orient=orient)).encode()
    body = expect(_send(api, project, payload, f"frame-{orient}.json"), 201)
    data = _read_back(api, body)
    data.pop("index", None)  # the table layout writes its row numbers as a column of its own, as pandas reads it
    assert data == EXPECTED and body["n_rows"] == 4
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert types["amount"] == types["visits"] == "numeric" and types["city"] == "categorical"


def test_rows_labelled_by_name_keep_their_labels(api: Any, project: str) -> None:
    frame = FRAME.set_axis(["anna", "ben", "cara", "dan"])
    for orient in ("columns", "split", "index"):
        body = expect(_send(api, project, frame.to_json(orient=orient).encode(), f"named-{orient}.json"), 201)
        data = _read_back(api, body)
        assert list(data)[0] == "index" and data["index"] == ["anna", "ben", "cara", "dan"], orient
        assert data["amount"] == EXPECTED["amount"]


def test_a_table_without_names_reads_with_numbered_columns(api: Any, project: str) -> None:
    body = expect(_send(api, project, FRAME.to_json(orient="values").encode(), "values.json"), 201)
    data = _read_back(api, body)
    assert list(data) == ["column_1", "column_2", "column_3", "column_4"] and data["column_2"] == EXPECTED["amount"]


def test_objects_that_are_no_pandas_table_read_as_before(api: Any, project: str) -> None:
    # an API's answer: two objects of different keys stay one record of their fields
    body = expect(_send(api, project, b'{"meta": {"page": 1}, "user": {"name": "x", "age": 3}}', "api.json"), 201)
    assert _read_back(api, body) == {"meta.page": [1], "user.name": ["x"], "user.age": [3]}
    # split rows as long as the columns, or a 422 saying so
    bad = b'{"columns": ["a", "b"], "index": [0, 1], "data": [[1, 2], [3]]}'
    assert (
        "not as long as its `columns`" in expect_error(_send(api, project, bad, "bad.json"), 422, "bad_json")["detail"]
    )


def test_a_pandas_layout_too_large_to_hold_is_a_clear_422(
    api: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = FRAME.to_json().encode()
    monkeypatch.setattr(pandas_json, "MAX_BYTES", len(payload) - 1)
    monkeypatch.setattr(api.settings, "upload_parse_process", False)  # the limit is this process's
    body = expect_error(_send(api, project, payload, "big.json"), 422, "bad_json")
    assert "orient='records', lines=True" in body["detail"]
