"""Workbooks other than Excel's .xlsx (server/services/spreadsheet_parts.py): LibreOffice's OpenDocument .ods, as
LibreOffice writes it (typed cells, repeats, a million empty rows), and Excel's binary .xlsb; a sheet repeated into
millions of cells and a password-protected workbook refused with a clear 422. Both were a 415 saying to save the
file as .xlsx or CSV."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tests.server.api.support import expect, expect_error
from tests.server.api.test_csv_sources import _post, _read_back
from tests.server.api.test_spreadsheets import HEADER, _report_rows, _send, _xlsx

DATA = Path(__file__).parent / "data"
NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'
)


def _ods_cell(value: Any) -> str:
    """One cell as LibreOffice Calc writes it: its type, its value, and the text it shows."""
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        typed = f'office:value-type="boolean" office:boolean-value="{str(value).lower()}"'
        shown = "WAHR" if value else "FALSCH"
    elif isinstance(value, int | float):
        typed, shown = f'office:value-type="float" office:value="{value}"', str(value).replace(".", ",")
    elif hasattr(value, "isoformat"):
        typed, shown = f'office:value-type="date" office:date-value="{value.isoformat()}"', value.strftime("%d.%m.%y")
    else:
        typed, shown = 'office:value-type="string"', escape(value)
    return f"<table:table-cell {typed} calcext:{typed.split()[0][7:]}><text:p>{shown}</text:p></table:table-cell>"


def _ods(sheets: dict[str, list[list[Any]]], filler: str = "") -> bytes:
    """An .ods of SHEETS; each sheet's rows are followed by LibreOffice's run of empty rows to the sheet's end, and
    FILLER (raw XML rows) when given."""
    tables = []
    for name, rows in sheets.items():
        xml = [f'<table:table table:name="{escape(name)}"><table:table-column table:number-columns-repeated="5"/>']
        for row in rows:
            cells = "".join(_ods_cell(v) for v in row)
            xml.append(
                f'<table:table-row>{cells}<table:table-cell table:number-columns-repeated="1019"/></table:table-row>'
            )
        xml.append(filler)
        xml.append(
            '<table:table-row table:number-rows-repeated="1048540">'
            '<table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>'
        )
        tables.append("".join(xml))
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NAMESPACES} office:version="1.3">'
        f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
    return buf.getvalue()


def test_a_libreoffice_report_sheet_reads_as_its_table(api: Any, project: str) -> None:
    workbook = _ods({"Umsatz": _report_rows(), "Kunden": [["id", "name"], [1, "Anna"], [2, "Ben"]]})
    body = expect(_send(api, project, workbook, "Umsatz 2024.ods"), 201)
    assert [c["name"] for c in body["columns"]] == HEADER and body["n_rows"] == 30  # no title, no totals row
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert types["Betrag"] == "numeric" and types["Datum"] == "date"
    source = body["source"]
    assert source["sheet"] == "Umsatz" and source["sheets"] == ["Umsatz", "Kunden"]
    assert any("'Summe'" in n for n in source["ambiguous"]) and any(
        "Umsatzbericht 2024" in n for n in source["ambiguous"]
    )
    data = _read_back(api, body)
    assert data["Betrag"][:2] == [1.5, 2.5] and data["Datum"][0] == "2024-03-02" and data["Stadt"][1] == "Zürich"
    assert data["Kunde"][:2] == ["K1", "K2"] and data["Bezahlt"][:3] == [False, False, True]
    kunden = expect(_send(api, project, workbook, "k.ods", sheet="kunden"), 201)
    assert _read_back(api, kunden) == {"id": [1, 2], "name": ["Anna", "Ben"]}  # whole numbers stay whole


def test_formulas_give_their_last_values_and_error_cells_are_empty(api: Any, project: str) -> None:
    formula = (
        '<table:table-cell table:formula="of:=[.A3]*2" office:value-type="float" calcext:value-type="float" '
        'office:value="8"><text:p>8</text:p></table:table-cell>'
    )
    error = (
        '<table:table-cell table:formula="of:=1/0" calcext:value-type="error">'
        "<text:p>#DIV/0!</text:p></table:table-cell>"
    )
    rows = f"<table:table-row>{_ods_cell(3)}{formula}{error}</table:table-row>"
    body = expect(_send(api, project, _ods({"S": [["a", "twice", "ratio"], [1, 2, 0.5]]}, rows), "f.ods"), 201)
    assert _read_back(api, body) == {"a": [1, 3], "twice": [2, 8], "ratio": [0.5, None]}


def test_the_same_sheet_reads_alike_from_ods_and_xlsx(api: Any, project: str) -> None:
    rows = _report_rows(12)
    from_ods = expect(_send(api, project, _ods({"Umsatz": rows}), "u.ods"), 201)
    from_xlsx = expect(_send(api, project, _xlsx({"Umsatz": rows}), "u.xlsx"), 201)
    assert from_ods["columns"] == from_xlsx["columns"] and _read_back(api, from_ods) == _read_back(api, from_xlsx)
    assert from_ods["source"]["skip_rows"] == from_xlsx["source"]["skip_rows"] == 2


def test_a_sheet_that_repeats_a_value_into_millions_of_cells_is_refused(api: Any, project: str) -> None:
    # 1 KB of XML that calamine would hold as 2 G cells: counted with its repeats before the workbook is opened
    bomb = (
        '<table:table-row table:number-rows-repeated="2000000"><table:table-cell office:value-type="float" '
        'office:value="1" table:number-columns-repeated="1000"><text:p>1</text:p></table:table-cell></table:table-row>'
    )
    body = expect_error(_send(api, project, _ods({"S": [["a"], [1]]}, bomb), "bomb.ods"), 422, "bad_archive")
    assert "5,000,000 cells" in body["detail"] and "save its sheet as a CSV" in body["detail"]
    # LibreOffice's own million empty rows at every sheet's end, and a few repeated values, are not counted so
    repeated = (
        '<table:table-row table:number-rows-repeated="3"><table:table-cell office:value-type="float" '
        'office:value="7" table:number-columns-repeated="1"><text:p>7</text:p></table:table-cell></table:table-row>'
    )
    body = expect(_send(api, project, _ods({"S": [["a"], [1]]}, repeated), "few.ods"), 201)
    assert _read_back(api, body) == {"a": [1, 7, 7, 7]}


def test_a_binary_excel_workbook_reads(api: Any, project: str) -> None:
    # calamine's own test files (tests/server/api/data/README.md): a sheet of dates and numbers without a header
    dates = expect(_send(api, project, (DATA / "dates.xlsb").read_bytes(), "dates.xlsb", header="false"), 201)
    data = _read_back(api, dates)
    assert data["column_1"][:2] == ["2021-01-01", "2021-01-02"] and data["column_2"] == [15, 16, 17]
    assert data["column_1"][2] == "255:10:10"  # a duration, as Excel shows it ([h]:mm:ss)
    second = expect(
        _send(api, project, (DATA / "types.xlsb").read_bytes(), "t.xlsb", sheet="issue2", header="false"), 201
    )
    assert second["source"]["sheet"] == "issue2" and second["source"]["sheets"][0] == "datatypes"
    assert _read_back(api, second) == {"column_1": [1, 2, 3], "column_2": ["a", "b", "c"]}


def test_damaged_protected_and_oversized_binary_workbooks_are_clear_errors(api: Any, project: str) -> None:
    expect_error(_send(api, project, b"not a workbook", "x.xlsb"), 415, "unsupported_file")
    expect_error(_send(api, project, b"not a workbook", "x.ods"), 415, "unsupported_file")
    protected = (DATA / "protected.xlsb").read_bytes()
    body = expect_error(_send(api, project, protected, "p.xlsb"), 422, "encrypted_workbook")
    assert "password" in body["detail"]
    expect_error(_send(api, project, protected, "p.xlsx"), 422, "encrypted_workbook")  # Excel encrypts .xlsx so too
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("hello.txt", "a zip, not a workbook")
    expect_error(_send(api, project, buf.getvalue(), "z.xlsb"), 422, "bad_sheet")
    expect_error(_send(api, project, buf.getvalue(), "z.ods"), 422, "bad_sheet")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.bin", bytes(60 << 20))  # declares 60 MB: 6 M cells or more
    body = expect_error(_send(api, project, buf.getvalue(), "big.xlsb"), 422, "bad_archive")
    assert "5,000,000 cells" in body["detail"]


def test_a_workbook_that_crashes_its_reader_costs_the_api_nothing(api: Any, project: str) -> None:
    # Two .xlsb files damaged at random (tests/server/api/data/README.md): on one calamine panics, on the other it
    # aborts its process (a Rust allocation of terabytes). Both are read in a parse process, previews too.
    panics = (DATA / "panics.xlsb").read_bytes()
    expect_error(_send(api, project, panics, "panics.xlsb"), 422, "bad_sheet")
    aborts = (DATA / "aborts.xlsb").read_bytes()
    for path in ("datasets", "datasets/sniff"):
        fields = {"name": "aborts", "sheet": "issue2"}  # its damaged sheet; the first reads
        body = expect_error(_post(api, project, path, aborts, fields, "aborts.xlsb"), 422, "damaged_file")
        assert "crashed its reader (SIGABRT)" in body["detail"]
    ods = expect(_send(api, project, _ods({"S": [["a"], [1], [2]]}), "after.ods"), 201)  # the next one is read
    assert ods["n_rows"] == 2


def test_an_ods_cover_sheet_gives_way_to_the_first_table(api: Any, project: str) -> None:
    """As in an .xlsx (test_spreadsheets.py): the first sheet that holds a table, when none is named."""
    workbook = _ods(
        {"Cover": [["Sales 2024"], ["by region"]], "Data": [["region", "sales"], ["North", 1], ["South", 2]]}
    )
    body = expect(_send(api, project, workbook, "sales.ods"), 201)
    assert body["source"]["sheet"] == "Data"
    assert _read_back(api, body) == {"region": ["North", "South"], "sales": [1, 2]}
