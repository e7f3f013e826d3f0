"""JSON uploads, as APIs, databases, scrapers and PowerShell write them (server/services/json_tables.py): an array of
objects, JSON Lines, one object holding the records under a key; nested objects flattened into `a.b` columns,
lists and mixed values kept as their JSON text, types inferred over the whole file. They were a 415."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from tests.security.support import zip_bytes
from tests.server.api.support import expect, expect_error
from tests.server.api.test_csv_sources import _post, _read_back

ORDERS = [
    {
        "id": 1,
        "customer": {"name": "Anna", "address": {"city": "Köln", "zip": "50667"}},
        "total": 19.5,
        "items": ["pen", "ink"],
        "placed": "2024-01-15T10:30:00Z",
        "paid": True,
    },
    {
        "id": 2,
        "customer": {"name": "Ben", "address": {"city": "Bonn", "zip": None}},
        "total": 7,
        "items": [],
        "placed": "2024-02-01T08:00:00Z",
        "paid": False,
    },
    {"id": 3, "customer": {"name": None, "address": None}, "total": None, "items": ["pad"], "placed": None},
]


def _send(api: Any, project: str, payload: bytes, filename: str) -> Any:
    return _post(api, project, "datasets", payload, {"name": filename}, filename)


def test_an_array_of_nested_objects_is_flattened_into_columns(api: Any, project: str) -> None:
    body = expect(_send(api, project, json.dumps(ORDERS, indent=2).encode(), "orders.json"), 201)
    names = ["id", "customer.name", "customer.address.city", "customer.address.zip", "total", "items", "placed", "paid"]
    assert [c["name"] for c in body["columns"]] == names and body["n_rows"] == 3 and body["source"] is None
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert types["total"] == "numeric" and types["placed"] == "date" and types["customer.address.city"] == "categorical"
    data = _read_back(api, body)
    assert data["customer.address.city"] == ["Köln", "Bonn", None] and data["total"] == [19.5, 7.0, None]
    assert data["items"] == ['["pen","ink"]', "[]", '["pad"]'] and data["paid"] == [True, False, None]


def test_json_lines_types_come_from_every_line(api: Any, project: str) -> None:
    # a key first met after 30,000 lines, and a field that turns from numbers to text there: DuckDB's default
    # sample (20,480 records) would have dropped the one and refused the other
    lines = [json.dumps({"id": i, "code": i % 7}) for i in range(30_000)]
    lines.append(json.dumps({"id": 30_000, "code": "X7", "late": 1.5}))
    body = expect(_send(api, project, ("\n".join(lines) + "\n").encode(), "events.jsonl"), 201)
    assert [c["name"] for c in body["columns"]] == ["id", "code", "late"] and body["n_rows"] == 30_001
    wide = "".join(json.dumps({f"k{j}": i * j for j in range(300)}) + "\n" for i in range(5))  # not a MAP column
    assert len(expect(_send(api, project, wide.encode(), "wide.jsonl"), 201)["columns"]) == 300
    deep: dict[str, Any] = {"v": 1}
    for level in range(10):
        deep = {f"l{9 - level}": deep}
    nested = expect(_send(api, project, (json.dumps(deep) + "\n").encode() * 2, "deep.jsonl"), 201)
    # eight levels become the column's path; what lies deeper is the JSON text of the eighth level's value
    assert [c["name"] for c in nested["columns"]] == ["l0.l1.l2.l3.l4.l5.l6.l7"]
    assert _read_back(api, nested)["l0.l1.l2.l3.l4.l5.l6.l7"][0] == '{"l8":{"l9":{"v":1}}}'
    ndjson = expect(_send(api, project, b'{"a": 1, "b": "x"}\n{"a": "two", "b": 5}\n', "mixed.ndjson"), 201)
    assert _read_back(api, ndjson) == {"a": ["1", "two"], "b": ["x", "5"]}  # mixed: their text, unquoted


def test_records_under_a_key_and_powershell_utf16(api: Any, project: str) -> None:
    wrapped = {"data": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], "meta": {"count": 2, "page": 1}}
    body = expect(_send(api, project, json.dumps(wrapped).encode(), "api.json"), 201)
    assert _read_back(api, body) == {"a": [1, 2], "b": ["x", "y"]}
    # Windows PowerShell 5: ConvertTo-Json | Out-File writes UTF-16 with a byte-order mark
    powershell = "\ufeff" + json.dumps([{"Name": "Köln", "Size": 1}, {"Name": "Zürich", "Size": 2}], indent=4)
    ps = expect(_send(api, project, powershell.replace("\n", "\r\n").encode("utf-16-le"), "ps.json"), 201)
    assert _read_back(api, ps)["Name"] == ["Köln", "Zürich"]


@pytest.mark.parametrize(
    ("payload", "code", "words"),
    [
        (b'{"a": 1}\n{"a": ', "bad_json", "JSON records"),
        (b"42", "bad_json", "holds no records"),
        (b"[[1, 2], [3]]", "bad_json", "holds no records"),  # rows of two lengths: no table (pandas_json)
        ('{"city": "Köln"}\n'.encode("latin-1"), "bad_encoding", "save it as UTF-8"),
        (b"[]", "bad_json", "holds no records"),
    ],
    ids=["cut", "scalar", "arrays", "latin-1", "empty"],
)
def test_what_is_not_json_records_is_a_clear_422(api: Any, project: str, payload: bytes, code: str, words: str) -> None:
    body = expect_error(_send(api, project, payload, "bad.json"), 422, code)
    assert words in body["detail"] and str(api.settings.home) not in body["detail"] and "/tmp" not in body["detail"]


def test_packed_json_is_read_too(api: Any, project: str) -> None:
    lines = "".join(json.dumps(o) + "\n" for o in ORDERS).encode()
    assert expect(_send(api, project, gzip.compress(lines), "orders.jsonl.gz"), 201)["n_rows"] == 3
    zipped = expect(_send(api, project, zip_bytes({"export/orders.json": json.dumps(ORDERS).encode()}), "o.zip"), 201)
    assert zipped["n_rows"] == 3
