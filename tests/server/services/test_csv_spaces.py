"""The spaces some CSVs put after each delimiter (`39, State-gov`): found on the file's head, and left out of each
parsed batch's text values (tests/server/api/test_spaced_values.py uploads such files)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from server.services import csv_dialect


@pytest.mark.parametrize(
    ("text", "header", "spaced"),
    [
        ("a, b, c\n1, x, 2.5\n2, y, 3.5\n", True, True),
        ("a,b,c\n1, x, 2.5\n2, y, 3.5\n", True, True),  # a header without them: only the rows are looked at
        ("1, x, 2.5\n2, y, 3.5\n", False, True),
        ("a, b, c\n1, x, \n2, , 3.5\n", True, True),  # empty cells do not count against
        ("a, b\n1, x\n2,y\n", True, False),  # one value without: the spaces are part of the values
        ("a,b\n1,x\n2,y\n", True, False),
        ("a, b\n1,\n2,\n", True, False),  # no value begins with a space
        ("a; b\n1; x\n", True, True),
    ],
)
def test_spaces_after_the_delimiter_are_found_in_every_row_or_not_at_all(text: str, header: bool, spaced: bool) -> None:
    delimiter = ";" if ";" in text else ","
    assert csv_dialect.spaces_after_delimiter(text, delimiter, '"', header) is spaced


def test_the_rows_looked_at_are_bounded() -> None:
    text = "a, b\n" + "1, x\n" * csv_dialect.SPACED_ROWS + "2,y\n"
    assert csv_dialect.spaces_after_delimiter(text, ",", '"', True)  # the unspaced row is past the rows looked at


def test_text_values_lose_their_spaces_markers_go_missing_and_quotes_after_a_space_go() -> None:
    batch = pa.record_batch(
        {
            "n": pa.array([1, 2, 3, 4]),
            "t": pa.array([" x", "  NA", ' "q"', " "]),
            "u": pa.array(['"kept"', " a b ", None, ' "say ""hi"""']),
        }
    )
    out = csv_dialect.without_initial_spaces(batch, ["", "NA"], '"')
    assert out.column("n").to_pylist() == [1, 2, 3, 4]
    assert out.column("t").to_pylist() == ["x", None, "q", None]
    # a value the parser unquoted itself keeps its quotes; trailing spaces and inner quotes stay as written
    assert out.column("u").to_pylist() == ['"kept"', "a b ", None, '"say ""hi"""']
