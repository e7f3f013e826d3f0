"""Reading the CSV files people have (data.md "Reading a table"): delimiter, quote, header, encoding, decimal and
thousands separators and null markers detected, overridable, stored as the dataset's `source`; the sniff preview;
the one-column refusal. Every file is built here and checked column by column against what a person reads."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.server.api.support import API, expect, expect_error

# What a person reads in the customer file, whatever way it is written.
PEOPLE = [
    {"customer_id": 1001, "name": "Zoé Müller", "city": "Zürich", "balance": 13341.91, "visits": 2243, "note": "£ ok"},
    {"customer_id": 1002, "name": "Anaïs Brontë", "city": "Paris", "balance": 2.5, "visits": 12, "note": None},
    {"customer_id": 1003, "name": "José Peña", "city": None, "balance": None, "visits": 7, "note": "café"},
    {"customer_id": 1004, "name": "Ann Lee", "city": "Oslo", "balance": 1250000.0, "visits": None, "note": "x"},
]
NAMES = ["customer_id", "name", "city", "balance", "visits", "note"]


def _post(api: Any, project: str, path: str, payload: bytes, fields: dict[str, str], filename: str) -> Any:
    return api.post(
        f"{API}/projects/{project}/{path}",
        data=fields,
        files={"file": (filename, io.BytesIO(payload), "text/csv")},
    )


def _upload(api: Any, project: str, payload: bytes, name: str = "customers", **options: str) -> dict[str, Any]:
    return expect(_post(api, project, "datasets", payload, {"name": name, **options}, "customers.csv"), 201)


def _read_back(api: Any, dataset: dict[str, Any]) -> dict[str, list[Any]]:
    """The stored dataset as {column: values}, through the preview."""
    body = expect(api.get(f"{API}/datasets/{dataset['id']}/preview?limit=100"), 200)
    return {name: [row[i] for row in body["rows"]] for i, name in enumerate(body["columns"])}


def _check_people(api: Any, dataset: dict[str, Any], names: list[str] = NAMES) -> None:
    """The stored dataset holds PEOPLE, column by column, numbers as numbers."""
    assert dataset["n_rows"] == len(PEOPLE)
    assert [c["name"] for c in dataset["columns"]] == names
    types = {c["name"]: c["type"] for c in dataset["columns"]}
    assert types["customer_id"] == types["balance"] == types["visits"] == "numeric", types
    data = _read_back(api, dataset)
    for shown, key in zip(names, NAMES, strict=True):
        want = [p[key] for p in PEOPLE]
        assert data[shown] == pytest.approx(want) if key in ("balance", "visits") else data[shown] == want, shown


def _european(sep: str = ";") -> str:
    """The customer file as Excel writes it in much of Europe: ; decimal comma, dot thousands, NA/-/empty."""
    rows = [
        sep.join(NAMES),
        sep.join(["1001", "Zoé Müller", "Zürich", "13.341,91", "2.243", "£ ok"]),
        sep.join(["1002", "Anaïs Brontë", "Paris", "2,5", "12", "NA"]),
        sep.join(["1003", "José Peña", "-", "NULL", "7", "café"]),
        sep.join(["1004", "Ann Lee", "Oslo", "1.250.000,00", "", "x"]),
    ]
    return "\r\n".join(rows) + "\r\n"


def _english() -> str:
    """The customer file with comma delimiter, quoted comma thousands and dot decimals."""
    return (
        ",".join(NAMES) + "\n"
        '1001,Zoé Müller,Zürich,"13,341.91","2,243",£ ok\n'
        "1002,Anaïs Brontë,Paris,2.5,12,N/A\n"
        "1003,José Peña,null,None,7,café\n"
        '1004,Ann Lee,Oslo,"1,250,000.00",,x\n'
    )


def test_semicolon_and_decimal_comma_are_detected(api: Any, project: str) -> None:
    body = _upload(api, project, _european().encode())
    assert body["source"]["delimiter"] == ";"
    assert body["source"]["decimal"] == "," and body["source"]["thousands"] == "."
    assert {"delimiter", "decimal", "thousands", "encoding"} <= set(body["source"]["detected"])
    _check_people(api, body)
    assert expect(api.get(f"{API}/datasets/{body['id']}"), 200)["source"] == body["source"]


def test_thousands_separators_in_a_comma_file_are_numbers(api: Any, project: str) -> None:
    body = _upload(api, project, _english().encode())
    assert body["source"]["delimiter"] == "," and body["source"]["thousands"] == ","
    assert body["source"]["decimal"] == "."
    _check_people(api, body)


def test_latin1_with_accents_and_pound_in_values_and_header(api: Any, project: str) -> None:
    text = _european().replace("note", "remarque £é")
    body = _upload(api, project, text.encode("cp1252"))
    assert body["source"]["encoding"] in ("cp1252", "latin-1")
    assert any("encoding" in a for a in body["source"]["ambiguous"])
    _check_people(api, body, [*NAMES[:-1], "remarque £é"])


def test_utf16_with_bom_and_tabs(api: Any, project: str) -> None:
    body = _upload(api, project, _european("\t").encode("utf-16"))
    assert body["source"]["encoding"] == "utf-16" and body["source"]["delimiter"] == "\t"
    _check_people(api, body)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(api: Any, project: str, encoding: str) -> None:
    body = _upload(api, project, _european().encode(encoding), name=f"customers_{encoding.replace('-', '_')}")
    assert body["source"]["encoding"] == encoding and body["source"]["delimiter"] == ";"
    _check_people(api, body)


def test_utf8_bom(api: Any, project: str) -> None:
    body = _upload(api, project, _english().encode("utf-8-sig"))
    assert body["source"]["encoding"] == "utf-8-sig"
    _check_people(api, body)  # the first column is named customer_id, without the BOM


def test_pipe_delimiter(api: Any, project: str) -> None:
    body = _upload(api, project, _european("|").encode())
    assert body["source"]["delimiter"] == "|"
    _check_people(api, body)


def test_quoted_multi_line_fields_and_quotes_inside(api: Any, project: str) -> None:
    text = 'id,comment,score\n1,"first line\nsecond line",3.5\n2,"said ""hi""; left",4\n3,plain,-\n'
    body = _upload(api, project, text.encode())
    data = _read_back(api, body)
    assert data == {
        "id": [1, 2, 3],
        "comment": ["first line\nsecond line", 'said "hi"; left', "plain"],
        "score": [3.5, 4.0, None],
    }


def test_null_markers_are_missing_values(api: Any, project: str) -> None:
    text = "a,b\n1,x\nNA,y\nN/A,z\nnull,NULL\nNone,-\n,w\n2,v\n"
    body = _upload(api, project, text.encode())
    data = _read_back(api, body)
    assert data == {"a": [1, None, None, None, None, None, 2], "b": ["x", "y", "z", None, None, "w", "v"]}
    assert {c["name"]: c["type"] for c in body["columns"]}["a"] == "numeric"


def test_an_override_changes_the_result(api: Any, project: str) -> None:
    text = "code;price\nA;2,243\nB;1,500\nC;3,000\n"
    detected = _upload(api, project, text.encode(), name="guessed")
    assert detected["source"]["decimal"] == ","
    assert detected["source"]["ambiguous"], "the preview must say '2,243' is ambiguous"
    assert _read_back(api, detected)["price"] == pytest.approx([2.243, 1.5, 3.0])
    given = _upload(api, project, text.encode(), name="given", decimal=".", thousands=",")
    assert _read_back(api, given)["price"] == pytest.approx([2243, 1500, 3000])
    assert "decimal" not in given["source"]["detected"] and given["source"]["ambiguous"] == []
    no_header = _upload(api, project, text.encode(), name="no_header", header="false", null_values="A,code")
    assert [c["name"] for c in no_header["columns"]] == ["column_1", "column_2"]
    assert _read_back(api, no_header)["column_1"] == [None, None, "B", "C"]


def test_sniff_answers_without_storing(api: Any, project: str) -> None:
    before = expect(api.get(f"{API}/projects/{project}/datasets"), 200)
    body = expect(_post(api, project, "datasets/sniff", _european().encode("cp1252"), {}, "c.csv"), 200)
    assert set(body) == {"source", "columns", "rows"}
    assert body["source"]["delimiter"] == ";" and body["source"]["encoding"] in ("cp1252", "latin-1")
    assert [c["name"] for c in body["columns"]] == NAMES
    assert {c["name"]: c["type"] for c in body["columns"]}["balance"] == "numeric"
    assert body["rows"][0] == [1001, "Zoé Müller", "Zürich", 13341.91, 2243, "£ ok"]
    assert len(body["rows"]) == 4
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == before
    big = ("a;b\n" + "1;x\n" * 3_000_000).encode()  # 12 MiB: only the head is read
    body = expect(_post(api, project, "datasets/sniff", big, {"delimiter": ";"}, "big.csv"), 200)
    assert len(body["rows"]) == 20 and body["columns"][0] == {"name": "a", "type": "numeric"}


def test_one_column_with_a_delimiter_in_the_header_is_refused(api: Any, project: str) -> None:
    body = expect_error(
        _post(api, project, "datasets", _european().encode(), {"name": "x", "delimiter": ","}, "c.csv"),
        422,
        "delimiter_not_found",
    )
    assert "';'" in body["detail"]
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []


@pytest.mark.parametrize(
    "field,value",
    [
        ("delimiter", "ab"),
        ("quote", "x"),
        ("header", "maybe"),
        ("encoding", "no-such-codec"),
        ("encoding", "idna"),
        ("decimal", ";"),
        ("null_values", "[1, 2]"),
    ],
)
def test_bad_reading_options_are_422(api: Any, project: str, field: str, value: str) -> None:
    r = _post(api, project, "datasets", b"a,b\n1,2\n", {"name": "x", field: value}, "c.csv")
    body = expect_error(r, 422, "bad_reading_option")
    assert field in body["detail"]
    expect_error(_post(api, project, "datasets/sniff", b"a,b\n1,2\n", {field: value}, "c.csv"), 422)


def test_wrong_encoding_given_is_422_naming_the_field(api: Any, project: str) -> None:
    r = _post(api, project, "datasets", "a\nü\n".encode("cp1252"), {"name": "x", "encoding": "utf-8"}, "c.csv")
    assert "encoding" in expect_error(r, 422, "bad_encoding")["detail"]


def test_sniff_needs_a_writer(api: Any, project: str) -> None:
    reader = api.user("reader1", project, "reader")
    r = api.post(
        f"{API}/projects/{project}/datasets/sniff",
        token=reader,
        files={"file": ("c.csv", io.BytesIO(b"a\n1\n"), "text/csv")},
    )
    assert r.status_code == 403, r.text


def test_thousands_numbers_stream_over_many_blocks_and_text_further_down_keeps_every_value(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    from server.services import table_store, tables

    monkeypatch.setattr(tables, "PARSE_BLOCK_BYTES", 64 << 10)  # many blocks; detection sees only the first rows
    rows = [f'{i},"{i:,}.5","{i:,}"' for i in range(1000, 21000)]
    upload = tmp_path / "t.csv"
    upload.write_text("id,amount,count\n" + "\n".join([*rows, '21000,"1,000.5",see note']) + "\n")
    stored = table_store.store_csv(upload, tmp_path / "out.parquet")
    assert stored.source is not None and stored.source.thousands == ","
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("amount").type == "double"
    assert table.column("amount").to_pylist()[:2] == [1000.5, 1001.5] and table.num_rows == 20001
    counts = table.column("count").to_pylist()  # text further down: the column is text, every value as written
    assert table.schema.field("count").type == "string" and counts[0] == "1,000" and counts[-1] == "see note"


def test_sniff_of_a_large_file_whose_head_cuts_a_multi_line_value(api: Any, project: str) -> None:
    row = '7,"' + "a long comment, over lines\n" * 30 + '",2.5\n'
    payload = ("id,comment,score\n" + row * 8000).encode()  # 6.6 MiB: the 4 MiB head ends inside a value
    body = expect(_post(api, project, "datasets/sniff", payload, {}, "c.csv"), 200)
    assert body["source"]["delimiter"] == ","
    assert [c["name"] for c in body["columns"]] == ["id", "comment", "score"]
    assert body["rows"][0] == [7, "a long comment, over lines\n" * 30, 2.5]
    stored = _upload(api, project, payload)
    assert stored["n_rows"] == 8000 and stored["source"]["delimiter"] == ","
