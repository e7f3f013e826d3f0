"""The preview of a workbook before it is stored (`POST …/datasets/sniff`, data.md "Preview before saving"): the
sheet read as the upload will read it, with its title and totals row found, the workbook's sheets named, and the
sheet and its reading options chosen. Workbooks were refused: only CSV files were previewed."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from server.services import upload_preview
from tests.server.api.support import expect, expect_error
from tests.server.api.test_csv_sources import _post
from tests.server.api.test_other_workbooks import _ods
from tests.server.api.test_spreadsheets import HEADER, _report_rows, _send, _xlsx

SHEETS = {"Umsatz": _report_rows(), "Kunden": [["id", "name"], [1, "Anna"], [2, "Ben"]]}


def _sniff(api: Any, project: str, payload: bytes, filename: str, **fields: str) -> Any:
    return _post(api, project, "datasets/sniff", payload, fields, filename)


@pytest.mark.parametrize(("filename", "build"), [("Umsatz.xlsx", _xlsx), ("Umsatz.ods", _ods)])
def test_a_workbooks_sheet_is_previewed_as_it_will_be_stored(api: Any, project: str, filename: str, build: Any) -> None:
    workbook = build(SHEETS)
    sniffed = expect(_sniff(api, project, workbook, filename), 200)
    source = sniffed["source"]
    assert source["sheet"] == "Umsatz" and source["sheets"] == ["Umsatz", "Kunden"] and source["skip_rows"] == 2
    assert source["ambiguous"][0].startswith("sheet: the first of the workbook's 2 sheets")
    assert [c["name"] for c in sniffed["columns"]] == HEADER
    assert {c["name"]: c["type"] for c in sniffed["columns"]}["Datum"] == "date"
    assert sniffed["rows"][0] == ["K1", "Köln", 1.5, "2024-03-02", False] and len(sniffed["rows"]) == 20
    stored = expect(_send(api, project, workbook, filename), 201)
    assert stored["columns"][3]["type"] == "date" and stored["source"]["skip_rows"] == source["skip_rows"]
    kunden = expect(_sniff(api, project, workbook, filename, sheet="Kunden"), 200)
    assert kunden["rows"] == [[1, "Anna"], [2, "Ben"]] and kunden["source"]["sheet"] == "Kunden"
    assert not any(n.startswith("sheet:") for n in kunden["source"]["ambiguous"])
    headless = expect(_sniff(api, project, workbook, filename, sheet="Kunden", header="false"), 200)
    assert headless["rows"][0] == ["id", "name"] and headless["source"]["header"] is False


def test_a_small_sheets_totals_row_is_found_and_a_long_sheets_end_is_not_guessed(api: Any, project: str) -> None:
    small = expect(_sniff(api, project, _xlsx({"S": _report_rows(12)}), "s.xlsx"), 200)
    assert any("('Summe')" in n for n in small["source"]["ambiguous"]) and len(small["rows"]) == 12
    rows = [["id", "when", "amount"]] + [[i, datetime.date(2024, 1, 1 + i % 28), i / 4] for i in range(3_000)]
    long = expect(_sniff(api, project, _xlsx({"S": rows}), "long.xlsx"), 200)
    assert len(long["rows"]) == 20 and long["rows"][1] == [1, "2024-01-02", 0.25]
    assert "cut" not in long["source"] and not any("sums" in n for n in long["source"]["ambiguous"])


def test_a_workbook_too_large_to_preview_and_a_file_not_previewed_are_clear(
    api: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = _xlsx(SHEETS)
    monkeypatch.setattr(api.settings, "upload_parse_process", False)  # the limit patched is this process's
    monkeypatch.setattr(upload_preview, "WORKBOOK_BYTES", len(workbook) - 1)
    body = expect_error(_sniff(api, project, workbook, "big.xlsx"), 413, "preview_too_large")
    assert "upload it without a preview" in body["detail"]
    monkeypatch.setattr(upload_preview, "WORKBOOK_BYTES", len(workbook))  # exactly as large: previewed
    expect(_sniff(api, project, workbook, "big.xlsx"), 200)
    body = expect_error(_sniff(api, project, b'[{"a": 1}]', "rows.json"), 422)
    assert "workbooks (.xlsx" in body["detail"]
    expect_error(_sniff(api, project, b"not a workbook", "x.ods"), 415, "unsupported_file")
