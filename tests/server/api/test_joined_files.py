"""CSV files joined together (`cat jan.csv feb.csv > q1.csv`, or one export pasted below another): the header, and
Excel's `sep=;` line and byte-order mark before it, repeat in the middle. The repeated header was stored as a
record and turned every number column into text (`Betrag` became a categorical of `19,50`); such lines are now
left out, wherever they lie, and `source.ambiguous` says how many and where the first is."""

from __future__ import annotations

from typing import Any

from tests.server.api.support import expect
from tests.server.api.test_csv_sources import _post, _read_back, _upload

HEADER = "Kunde;Betrag;Datum\r\n"


def _month(month: int, n: int) -> str:
    return "".join(f"K{i};{i},50;{i % 9 + 1:02d}.{month:02d}.2024\r\n" for i in range(n))


def test_a_joined_files_repeated_header_is_left_out_and_said(api: Any, project: str) -> None:
    text = HEADER + _month(1, 20) + HEADER + _month(2, 20)
    body = _upload(api, project, text.encode("cp1252"), name="q1")
    assert body["n_rows"] == 40
    assert {c["name"]: c["type"] for c in body["columns"]} == {
        "Kunde": "categorical",
        "Betrag": "numeric",
        "Datum": "date",
    }
    assert (
        "1 line(s) repeating the header (files joined together) left out, the first on line 22."
        in (body["source"]["ambiguous"])
    )
    data = _read_back(api, body)
    assert "Kunde" not in data["Kunde"] and data["Betrag"][19:21] == [19.5, 0.5]
    preview = expect(_post(api, project, "datasets/sniff", text.encode(), {}, "q1.csv"), 200)
    assert [c["type"] for c in preview["columns"]] == ["categorical", "numeric", "date"]
    assert all(row[0] != "Kunde" for row in preview["rows"])


def test_excel_exports_joined_with_their_marks_and_sep_lines(api: Any, project: str) -> None:
    part = "\ufeffsep=;\r\n" + HEADER
    body = _upload(api, project, (part + _month(1, 5) + part + _month(2, 5)).encode(), name="marks")
    assert body["n_rows"] == 10 and body["source"]["skip_rows"] == 1
    assert any(s.startswith("2 line(s) repeating the header or its sep= line") for s in body["source"]["ambiguous"])
    assert _read_back(api, body)["Betrag"] == [0.5, 1.5, 2.5, 3.5, 4.5] * 2


def test_a_file_without_a_header_keeps_its_equal_rows(api: Any, project: str) -> None:
    body = _upload(api, project, b"1,2,3\n4,5,6\n1,2,3\n", name="equal-rows")
    assert body["source"]["header"] is False and body["n_rows"] == 3
    assert not any("repeating" in s for s in body["source"]["ambiguous"])
