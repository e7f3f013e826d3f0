"""Numbers typed into rows for scoring, read as the model's training file wrote them (row_numbers)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from server.services import row_numbers

GERMAN = (",", ".")  # a German Excel file: 1.234,50
US = (".", ",")  # 1,234.50
PLAIN = (".", None)  # a file without thousands separators, or a Parquet upload


@pytest.mark.parametrize(
    ("value", "file_format", "number"),
    [
        ("1.234,50 €", GERMAN, 1234.5),
        ("12,5 %", GERMAN, 12.5),  # a percent kept as written, as the upload reads it
        ("1.234", GERMAN, 1234.0),  # as the file wrote it: the dot groups thousands there
        ("(1.234,50)", GERMAN, -1234.5),  # accounting's negative
        ("1234.5", GERMAN, 1234.5),  # not the file's way, a plain number: what programs send
        ("1,5E+02", GERMAN, 150.0),
        ("1.234", US, 1.234),
        ("$1,234.50", US, 1234.5),
        ("12,34,567.00", US, 1234567.0),  # India's grouping
        ("1,234", PLAIN, 1234.0),  # the file has a decimal point: the comma groups thousands
        ("13,341.91", PLAIN, 13341.91),
        ("1.234,50", PLAIN, 1234.5),  # the one way it can be read
        ("1 234,56", PLAIN, 1234.56),  # France's space
        ("1’234.50", PLAIN, 1234.5),  # Windows' Swiss apostrophe
        ("−5", PLAIN, -5.0),  # a typographic minus
        ("  7 ", PLAIN, 7.0),
        ("3,5 kg", GERMAN, 3.5),  # a quantity with its unit, as the file wrote it
    ],
)
def test_a_number_is_read_as_people_write_it(value: str, file_format: tuple[str, str | None], number: float) -> None:
    assert row_numbers.read_number(value, *file_format) == pytest.approx(number, rel=1e-12)


@pytest.mark.parametrize("value", ["abc", "n/a", "1,2,3", "12 kg 5 g", "$1 €", ""])
def test_what_is_no_number_stays_as_it_was(value: str) -> None:
    assert row_numbers.read_number(value, *GERMAN) == value


def test_only_text_in_the_number_columns_is_read() -> None:
    frame = pd.DataFrame({"amount": ["1.234,50", 7, None, "n/a"], "code": ["1.234", "x", "y", "z"]})
    out = row_numbers.read_columns(frame, ["amount", "absent"], *GERMAN)
    assert out["amount"].iloc[0] == 1234.5 and out["amount"].iloc[1] == 7 and out["amount"].iloc[3] == "n/a"
    assert out["amount"].iloc[2] is None or math.isnan(out["amount"].iloc[2])
    assert list(out["code"]) == ["1.234", "x", "y", "z"] and list(frame["amount"])[0] == "1.234,50"


def test_the_format_comes_from_the_datasets_source() -> None:
    assert row_numbers.number_format({"decimal": ",", "thousands": "."}) == GERMAN
    assert row_numbers.number_format({"decimal": ".", "thousands": None}) == PLAIN
    assert row_numbers.number_format(None) == PLAIN
