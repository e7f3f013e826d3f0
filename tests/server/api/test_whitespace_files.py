"""Files whose values are separated by runs of spaces, as UCI's `.data` files are (` 0.00632  18.00   2.310`): they
were stored as one column named after the first row. The delimiter `whitespace` is detected (or given) and the file
read so (data.md "Reading a table": detected, then overridable)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.support import expect
from tests.server.api.test_csv_sources import _post, _read_back, _upload

HOUSING = (
    " 0.00632  18.00   2.310  0  0.5380  6.5750  65.20  4.0900   1  296.0  15.30 396.90   4.98  24.00\n"
    " 0.02731   0.00   7.070  0  0.4690  6.4210  78.90  4.9671   2  242.0  17.80 396.90   9.14  21.60\n"
    " 0.02729   0.00   7.070  0  0.4690  7.1850  61.10  4.9671   2  242.0  17.80 392.83   4.03  34.70\n"
)


def test_a_uci_data_file_is_read_as_its_columns(api: Any, project: str) -> None:
    body = _upload(api, project, HOUSING.encode(), name="housing")
    source = body["source"]
    assert source["delimiter"] == "whitespace" and "delimiter" in source["detected"] and source["header"] is False
    assert body["n_rows"] == 3 and len(body["columns"]) == 14
    assert all(c["type"] == "numeric" for c in body["columns"])
    assert any(s.startswith("delimiter: the values are separated by spaces") for s in source["ambiguous"])
    data = _read_back(api, body)
    assert data["column_1"] == [0.00632, 0.02731, 0.02729] and data["column_14"] == [24.0, 21.6, 34.7]
    preview = expect(_post(api, project, "datasets/sniff", HOUSING.encode(), {}, "housing.data.txt"), 200)
    assert preview["source"]["delimiter"] == "whitespace" and preview["rows"][1][:2] == [0.02731, 0.0]


def test_a_header_and_a_given_delimiter(api: Any, project: str) -> None:
    text = "CRIM    ZN   INDUS  MEDV\n0.1  18.0  2.3  24.0\n0.2   0.0  7.1  21.6\n"
    body = _upload(api, project, text.encode(), name="with-header")
    assert [c["name"] for c in body["columns"]] == ["CRIM", "ZN", "INDUS", "MEDV"]
    given = _upload(api, project, b"a b\n1 2\n3 4\n", name="given", delimiter="whitespace")
    assert given["source"]["delimiter"] == "whitespace" and "delimiter" not in given["source"]["detected"]
    assert _read_back(api, given) == {"a": [1, 3], "b": [2, 4]}


@pytest.mark.parametrize(
    "text", ["name\nAnna Smith\nBen Jones\n", "text\nhello world\nthis is not a table\n", "a,b\n1 2,3\n4 5,6\n"]
)
def test_text_with_spaces_in_its_values_is_not_split(api: Any, project: str, text: str) -> None:
    body = _upload(api, project, text.encode(), name="words")
    assert body["source"]["delimiter"] == "," and _read_back(api, body)[body["columns"][0]["name"]][0] in (
        "Anna Smith",
        "hello world",
        "1 2",
    )
