"""Excel workbooks as people keep their data (server/services/spreadsheets.py): a report's sheet with its title,
a totals row and dates; the sheet picked by name or number; the older .xls; damaged files and bombs refused. They
were a 415 saying to save the sheet as CSV. Also the CSV that Excel saves from such a sheet: its title row is as
wide as the table (`Umsatzbericht 2024;;;;`), and it was taken for the header."""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import configure
from tests.server.api.support import expect, expect_error
from tests.server.api.test_csv_sources import _post, _read_back

HEADER = ["Kunde", "Stadt", "Betrag", "Datum", "Bezahlt"]


def _report_rows(n: int = 30) -> list[list[Any]]:
    rows: list[list[Any]] = [["Umsatzbericht 2024"], [], HEADER]
    for i in range(1, n + 1):
        rows.append(
            [f"K{i}", "Köln" if i % 2 else "Zürich", i + 0.5, datetime.datetime(2024, 3, i % 28 + 1), i % 3 == 0]
        )
    rows.append(["Summe", None, sum(i + 0.5 for i in range(1, n + 1))])
    return rows


def _xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _cut_sheet(workbook: bytes) -> bytes:
    """WORKBOOK with its first sheet's XML cut in the middle: the workbook opens, the sheet breaks while read."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(out, "w") as cut:
        for info in source.infolist():
            data = source.read(info)
            cut.writestr(info, data[: len(data) // 2] if info.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def _send(api: Any, project: str, payload: bytes, filename: str, **fields: str) -> Any:
    return _post(api, project, "datasets", payload, {"name": filename, **fields}, filename)


def test_a_report_sheet_reads_as_its_table(api: Any, project: str) -> None:
    workbook = _xlsx({"Umsatz": _report_rows(), "Kunden": [["id", "name"], [1, "Anna"], [2, "Ben"]], "Notizen": []})
    body = expect(_send(api, project, workbook, "Umsatz 2024.xlsx"), 201)
    assert [c["name"] for c in body["columns"]] == HEADER and body["n_rows"] == 30  # no title, no totals row
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert types["Betrag"] == "numeric" and types["Datum"] == "date"
    source = body["source"]
    assert source["sheet"] == "Umsatz" and source["sheets"] == ["Umsatz", "Kunden", "Notizen"]
    assert source["ambiguous"][0].startswith("sheet: the first of the workbook's 3 sheets, 'Umsatz'")
    assert any("'Summe'" in n for n in source["ambiguous"]) and any(
        "Umsatzbericht 2024" in n for n in source["ambiguous"]
    )
    data = _read_back(api, body)
    assert data["Betrag"][:2] == [1.5, 2.5] and data["Datum"][0] == "2024-03-02" and data["Stadt"][1] == "Zürich"
    kunden = expect(_send(api, project, workbook, "k.xlsx", sheet="kunden"), 201)  # its name, any case
    assert _read_back(api, kunden) == {"id": [1, 2], "name": ["Anna", "Ben"]}
    assert not any(n.startswith("sheet:") for n in kunden["source"]["ambiguous"])
    second = expect(_send(api, project, workbook, "k2.xlsx", sheet="2"), 201)  # or its number
    assert second["source"]["sheet"] == "Kunden"
    missing = expect_error(_send(api, project, workbook, "k3.xlsx", sheet="Umsätze"), 422, "bad_sheet")
    assert "'Umsatz', 'Kunden', 'Notizen'" in missing["detail"]
    expect_error(_send(api, project, workbook, "k4.xlsx", sheet="Notizen"), 422, "empty_dataset")


def test_a_sheet_is_read_with_the_delimiter_it_was_written_with(api: Any, project: str) -> None:
    """Text cells with spaces are one value each: a one-column sheet of titles was read as space-separated columns."""
    titles = [["Product name"], ["Red apple pie"], ["Green tea latte"], ["Dark chocolate bar"], ["Plain bagel"]]
    body = expect(_send(api, project, _xlsx({"Products": titles}), "titles.xlsx"), 201)
    assert [c["name"] for c in body["columns"]] == ["Product name"] and body["n_rows"] == 4
    assert body["source"]["delimiter"] == "," and "delimiter" not in body["source"]["detected"]
    assert _read_back(api, body)["Product name"][0] == "Red apple pie"
    # Cells that hold ; or , inside a table of several columns are values, whatever the sniffer would make of them.
    notes = [["id", "note"], *[[i, f"late; refund {i},5 EUR; call back"] for i in range(1, 9)]]
    body = expect(_send(api, project, _xlsx({"Notes": notes}), "notes.xlsx"), 201)
    assert [c["name"] for c in body["columns"]] == ["id", "note"]
    assert _read_back(api, body)["note"][0] == "late; refund 1,5 EUR; call back"


def test_semicolon_lines_pasted_into_column_a_are_split(api: Any, project: str) -> None:
    """A ;-CSV opened in Excel without splitting it and saved as a workbook: every line in column A."""
    lines = [["id;city;amount"], *[[f"{i};Köln;{i},5"] for i in range(1, 11)]]
    body = expect(_send(api, project, _xlsx({"Export": lines}), "export.xlsx"), 201)
    assert [c["name"] for c in body["columns"]] == ["id", "city", "amount"] and body["n_rows"] == 10
    assert body["source"]["delimiter"] == ";" and "delimiter" in body["source"]["detected"]
    assert _read_back(api, body)["amount"][:2] == [1.5, 2.5]


def test_a_title_page_or_an_empty_first_sheet_gives_way_to_the_first_table(api: Any, project: str) -> None:
    """A report's cover sheet, or Excel's empty "Sheet1", before the data: the first sheet that holds a table."""
    cover = [["Quarterly report"], ["Generated 2024-01-05"], ["Confidential"]]
    workbook = _xlsx({"Summary": cover, "Umsatz": _report_rows(), "Kunden": [["id", "name"], [1, "Anna"]]})
    body = expect(_send(api, project, workbook, "report.xlsx"), 201)
    assert body["source"]["sheet"] == "Umsatz" and [c["name"] for c in body["columns"]] == HEADER
    assert body["n_rows"] == 30
    assert body["source"]["ambiguous"][0].startswith("sheet: the workbook's first sheet, 'Summary', holds no table")
    named = expect(_send(api, project, workbook, "cover.xlsx", sheet="Summary"), 201)  # named, it is read
    assert named["source"]["sheet"] == "Summary" and named["n_rows"] == 2
    empty_first = _xlsx({"Sheet1": [], "Sheet2": [["x", "y"], [1, 2], [3, 4]]})
    body = expect(_send(api, project, empty_first, "blank_first.xlsx"), 201)
    assert body["source"]["sheet"] == "Sheet2" and _read_back(api, body) == {"x": [1, 3], "y": [2, 4]}
    # No sheet holds a table: the first is read, as it is.
    lists = _xlsx({"Names": [["name"], ["Ana"], ["Ben"]], "Notes": [["one note"]]})
    body = expect(_send(api, project, lists, "lists.xlsx"), 201)
    assert body["source"]["sheet"] == "Names" and _read_back(api, body) == {"name": ["Ana", "Ben"]}
    assert body["source"]["ambiguous"][0].startswith("sheet: the first of the workbook's 2 sheets, 'Names'")


def test_an_old_xls_workbook_reads_too(api: Any, project: str) -> None:
    xls = Path(__file__).parent / "data" / "kunden.xls"
    body = expect(_send(api, project, xls.read_bytes(), "kunden.xls"), 201)
    assert [c["name"] for c in body["columns"]] == ["Kunde", "Betrag", "Datum"] and body["n_rows"] == 3
    assert _read_back(api, body) == {
        "Kunde": ["Müller", "Böhm", "Weiß"],
        "Betrag": [1234.5, 7, 19.25],
        "Datum": ["2024-03-01", "2024-03-02", "2024-03-03"],
    }


def test_damaged_workbooks_and_bombs_are_a_clear_422(api: Any, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expect_error(_send(api, project, b"not a workbook", "x.xlsx"), 415, "unsupported_file")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("hello.txt", "a zip, not a workbook")
    expect_error(_send(api, project, buf.getvalue(), "z.xlsx"), 422, "bad_sheet")
    expect_error(_send(api, project, b"\xd0\xcf\x11\xe0 not really", "x.xls"), 422, "bad_sheet")
    expect_error(_send(api, project, _cut_sheet(_xlsx({"Daten": _report_rows(300)})), "cut.xlsx"), 422, "bad_sheet")
    configure(monkeypatch, api.settings.home, max_zip_expanded_mb="1")
    wide = _xlsx({"Daten": [["a", "b"]] + [[i, "x" * 40] for i in range(20_000)]})  # about 1.5 MB of XML
    body = expect_error(_send(api, project, wide, "wide.xlsx"), 422, "bad_archive")
    assert "save its sheet as a CSV" in body["detail"]


def test_the_csv_excel_saves_from_a_report_sheet_loses_its_title(api: Any, project: str) -> None:
    # Excel writes every row of a sheet as wide as its used range: the title row has the table's delimiters
    lines = ["Umsatzbericht 2024;;;;", ";;;;", ";".join(HEADER)]
    lines += [f"K{i};Köln;{i},50;0{i}.03.2024;WAHR" for i in range(1, 8)]
    body = expect(_send(api, project, ("\r\n".join(lines) + "\r\n").encode("cp1252"), "bericht.csv"), 201)
    assert [c["name"] for c in body["columns"]] == HEADER and body["n_rows"] == 7
    assert body["source"]["skip_rows"] == 2 and "('Umsatzbericht 2024')" in body["source"]["ambiguous"][0]
    # a header with a blank name among its names is no title's table: nothing is skipped
    plain = expect(_send(api, project, b"a;;c\r\n1;2;3\r\n4;5;6\r\n", "plain.csv"), 201)
    assert plain["source"]["skip_rows"] == 0 and plain["n_rows"] == 2
