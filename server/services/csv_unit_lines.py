"""Lines right below a header that name units, not values: `;cm;kg` under `name;height;weight`, or a data logger's
`"TS","RN","Deg C","%"` and `"","","Avg","Smp"` (Campbell Scientific's TOA5). Read as records, they made every
number column text."""

from __future__ import annotations

import csv
import io
import re

from core.dates import DATE_RE
from server.services import csv_numbers

MAX_LINES = 3  # a logger writes units and a processing line; more lines below a header are data
SAMPLE_ROWS = 200
MIN_ROWS_BELOW = 2  # rows under the candidate lines needed to see what the columns hold
MAX_UNIT_CHARS = 32
_DATE = re.compile(DATE_RE)


def units_lines(text: str, delimiter: str, quote: str | None, nulls: list[str]) -> list[list[str]]:
    """The lines right below TEXT's header (its first line) that name units or how values were processed, at most
    MAX_LINES, as cells: each holds no number or date, something under a column of numbers or dates, and nothing
    under any other column (a record names its item there). Empty when there are none."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote or "\x00")
        rows = [[cell.strip() for cell in row] for _, row in zip(range(SAMPLE_ROWS), reader, strict=False)]
    except csv.Error:
        return []
    missing = set(nulls) | {""}
    # What the columns hold is read below the lines looked at: a logger's second line (`Avg`) would make its number
    # columns text for its first. The most lines that are all units lines, counted from the header, win.
    for count in range(min(MAX_LINES, len(rows) - 1 - MIN_ROWS_BELOW), 0, -1):
        valued = _valued_columns(rows[1 + count :], missing)
        if valued and all(_names_units(row, valued, missing) for row in rows[1 : 1 + count]):
            return rows[1 : 1 + count]
    return []


def _valued_columns(rows: list[list[str]], missing: set[str]) -> set[int]:
    """The positions of the columns whose present cells in ROWS are all numbers or dates (at least two)."""
    width = max((len(r) for r in rows), default=0)
    out = set()
    for i in range(width):
        present = [r[i] for r in rows if i < len(r) and r[i] not in missing]
        if len(present) >= MIN_ROWS_BELOW and all(csv_numbers.looks_like_number(v) or _DATE.match(v) for v in present):
            out.add(i)
    return out


def _names_units(row: list[str], valued: set[int], missing: set[str]) -> bool:
    """True when ROW holds no number or date, a short word under some VALUED column, and nothing under the others."""
    filled = [i for i, cell in enumerate(row) if cell not in missing]
    if not any(i in valued for i in filled) or any(i not in valued for i in filled):
        return False
    cells = [row[i] for i in filled]
    return all(len(c) <= MAX_UNIT_CHARS and not csv_numbers.looks_like_number(c) and not _DATE.match(c) for c in cells)
