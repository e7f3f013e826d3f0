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


def _report(month: int, n: int, sep: str = "") -> str:
    return sep + f"Umsatzbericht {month:02d}/2024\r\n\r\n" + HEADER + _month(month, n)


def test_joined_reports_lose_each_parts_title_with_its_header(api: Any, project: str) -> None:
    # each part's title came in as a record: the sniffer read the whole file as one column named after the title
    body = _upload(api, project, (_report(1, 4) + _report(2, 4)).encode(), name="reports")
    assert [c["name"] for c in body["columns"]] == ["Kunde", "Betrag", "Datum"] and body["n_rows"] == 8
    assert {c["name"]: c["type"] for c in body["columns"]}["Betrag"] == "numeric"
    assert "with the 1 title line(s) above them." in " ".join(body["source"]["ambiguous"])
    assert _read_back(api, body)["Kunde"] == [f"K{i}" for i in range(4)] * 2
    excel = _upload(api, project, (_report(1, 3, "\ufeffsep=;\r\n") + _report(2, 3, "\ufeffsep=;\r\n")).encode())
    assert excel["n_rows"] == 6 and _read_back(api, excel)["Betrag"] == [0.5, 1.5, 2.5] * 2
    preview = expect(_post(api, project, "datasets/sniff", (_report(1, 4) + _report(2, 4)).encode(), {}, "r.csv"), 200)
    assert [row[0] for row in preview["rows"]] == [f"K{i}" for i in range(4)] * 2


def test_titles_beyond_the_head_go_and_a_short_row_above_a_part_that_has_none_stays(api: Any, project: str) -> None:
    body = _upload(api, project, (_report(1, 30_000) + _report(2, 5) + _report(3, 5)).encode(), name="long-reports")
    assert body["n_rows"] == 30_010 and {c["name"]: c["type"] for c in body["columns"]}["Betrag"] == "numeric"
    assert "2 line(s) repeating the header (files joined together) left out, the first on line 30006, with the 2 " in (
        " ".join(body["source"]["ambiguous"])
    )
    # without lines above the first table, nothing above a repeat is a title: the short row is a record
    plain = _upload(api, project, (HEADER + _month(1, 3) + "K9;1,50\r\n" + HEADER + _month(2, 2)).encode())
    assert plain["n_rows"] == 6 and _read_back(api, plain)["Kunde"][3] == "K9"
