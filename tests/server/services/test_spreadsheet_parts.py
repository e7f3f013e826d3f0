"""Counting an OpenDocument sheet's cells before calamine holds them (server/services/spreadsheet_parts.py): repeats
of rows and cells multiply, empty repeats do not count, any namespace prefix, rows cut across chunks."""

from __future__ import annotations

import io

import pytest

from server.services import spreadsheet_parts

CELL = (
    '<table:table-cell office:value-type="float" calcext:value-type="float" office:value="1">'
    "<text:p>1</text:p></table:table-cell>"
)


def _count(xml: str) -> int:
    return spreadsheet_parts._valued_cells(io.BytesIO(xml.encode()))


def test_plain_cells_count_once_though_libreoffice_types_them_twice() -> None:
    assert _count(f"<table:table-row>{CELL * 3}</table:table-row>" * 4) == 12


def test_repeats_multiply_and_empty_repeats_do_not_count() -> None:
    repeated_cell = CELL.replace('office:value="1"', 'office:value="1" table:number-columns-repeated="10"')
    row = f'<table:table-row table:number-rows-repeated="100">{repeated_cell}{CELL}</table:table-row>'
    empty = (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    self_closing = '<table:table-row table:number-rows-repeated="500"/>'
    assert _count(self_closing + row + empty + f"<table:table-row>{CELL}</table:table-row>") == 100 * 11 + 1


def test_another_namespace_prefix_is_counted_as_well() -> None:
    cell = '<t:table-cell o:value-type="float" o:value="2" t:number-columns-repeated="1000"/>'
    assert _count(f'<t:table-row t:number-rows-repeated="7000">{cell}</t:table-row>') == 7_000_000


def test_rows_cut_across_chunks_are_counted_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheet_parts, "CHUNK", 37)
    row = f'<table:table-row table:number-rows-repeated="3">{CELL * 2}</table:table-row>'
    assert _count(row * 50) == 300
