"""A CSV's dialect: delimiter, quote, header and the lines above the table, by DuckDB's sniffer (with the fixes
its misreadings of real files needed), on a UTF-8 sample of the file's head; and the spaces after each delimiter
that some files put before their values (`39, State-gov`), found and left out."""

from __future__ import annotations

import csv
import io
import itertools
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SPACED_ROWS = 1000  # rows looked at for spaces after the delimiter
TITLE_ROWS = 20  # rows looked at for a title written as wide as its table


def is_preamble(text: str, lines: int, delimiter: str, quote: str | None, header: bool) -> bool:
    """Whether the first LINES lines of TEXT are above a table with a header: each has fewer cells than the header.
    A first line with fewer cells than the rows under it and no header after it is a ragged file, not a title."""
    if not lines or not header:
        return False
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote or "\x00")
    rows = list(itertools.islice(reader, lines + 1))
    width = len(rows[lines]) if len(rows) > lines else 0
    return all(_filled(row) < width for row in rows[:lines])


def _filled(row: list[str]) -> int:
    """How many cells ROW holds up to its last value (Excel writes every row of a sheet as wide as its table)."""
    return next((i + 1 for i in range(len(row) - 1, -1, -1) if row[i].strip()), 0)


def padded_titles(text: str, delimiter: str, quote: str | None) -> int:
    """How many lines of TEXT are a report's title and blank lines that Excel wrote as wide as the table below
    (`Umsatzbericht 2024;;;;;`, then `;;;;;`): its first rows holding one value at most, when the row after them
    holds two or more, none empty. 0 when the first row is such a row already."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote or "\x00")
    try:
        rows = list(itertools.islice(reader, TITLE_ROWS + 1))
    except csv.Error:
        return 0
    for at, row in enumerate(rows):
        if (filled := _filled(row)) > 1:
            header = all(cell.strip() for cell in row[:filled])
            # as wide as the table, or blank: a first row without the delimiter is a file read with the wrong one
            padded = all(len(above) == len(row) or not any(above) for above in rows[:at])
            return at if header and padded else 0
    return 0


def spaces_after_delimiter(text: str, delimiter: str, quote: str | None, header: bool) -> bool:
    """Whether TEXT's rows separate their values with the delimiter and a space (`39, State-gov, 77516`, as UCI's
    Adult data and files typed by hand do): in its first SPACED_ROWS rows below the header, every cell but a row's
    first begins with a space or is empty, and one at least begins with a space."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote or "\x00")
    spaced = False
    try:
        for row in itertools.islice(reader, int(header), SPACED_ROWS + int(header)):
            for cell in row[1:]:
                if cell and not cell.startswith(" "):
                    return False
                spaced = spaced or bool(cell)
    except csv.Error:
        return False
    return spaced


def without_initial_spaces(batch: pa.RecordBatch, null_values: list[str], quote: str | None) -> pa.RecordBatch:
    """BATCH with the spaces at the start of its text values left out (the parser keeps them; it skips them only
    before numbers and dates), then each value that is a null marker made missing, and a value in quotes (which the
    parser reads as written when a space comes before them) unquoted when it holds no other quote."""
    arrays = list(batch.columns)
    nulls = pa.array(null_values, pa.string())
    for i, field in enumerate(batch.schema):
        if not pa.types.is_string(field.type):
            continue
        values = pc.utf8_ltrim(arrays[i], " ")
        if quote:  # only where a space came first: a value the parser unquoted itself stays as it is
            q = re.escape(quote)
            unquoted = pc.replace_substring_regex(values, f"^{q}([^{q}]*){q}$", r"\1")
            values = pc.if_else(pc.starts_with(arrays[i], " "), unquoted, values)
        arrays[i] = pc.if_else(pc.is_in(values, value_set=nulls), pa.nulls(len(values), pa.string()), values)
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def whitespace_columns(text: str) -> bool:
    """Whether TEXT (a file's head) holds values separated by runs of spaces, as UCI's `housing.data` does
    (` 0.00632  18.00   2.310  0`): no , ; tab or | in its first line, and its first SPACED_ROWS lines of the
    same number of values, two or more."""
    if any(c in text.split("\n", 1)[0] for c in ",;\t|"):  # most files: decided by the first line alone
        return False
    lines = list(itertools.islice((line for line in io.StringIO(text) if line.strip()), SPACED_ROWS))
    if not lines or any(c in lines[0] for c in ",;\t|"):
        return False
    counts = {len(line.split()) for line in lines}
    return len(counts) == 1 and counts.pop() >= 2


def whitespace_as_tabs(text: str) -> str:
    """TEXT with each line's runs of spaces and tabs made one tab, those around it left out."""
    return "".join("\t".join(line.split()) + "\n" for line in text.splitlines())


def after_lines(text: str, lines: int) -> str:
    """TEXT without its first LINES lines (each ended by CR LF, LF or CR); empty when it has fewer."""
    if not lines:
        return text
    found = re.match(rf"(?:[^\r\n]*(?:\r\n|\n|\r)){{{lines}}}", text)
    return text[found.end() :] if found else ""


DELIMITERS = (",", ";", "\t", "|")


def _fallback_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _duckdb_sniff(sample: Path, given: dict[str, Any]) -> tuple[str, str, bool, int] | None:
    """DuckDB's sniff_csv of SAMPLE (delimiter, quote, header, lines above the table) with the GIVEN options fixed;
    None when it fails."""
    import duckdb

    args = ["?", "strict_mode=false"] + (["skip=0"] if "skip_rows" in given else [])
    params: list[Any] = [str(sample)]
    for key, name in (("delimiter", "delim"), ("quote", "quote"), ("header", "header")):
        if key in given:
            args.append(f"{name}=?")
            params.append(given[key] if given[key] is not None else "")
    try:
        with duckdb.connect(":memory:", config={"threads": 1, "memory_limit": "512MB"}) as con:
            return con.execute(
                f"SELECT Delimiter, Quote, HasHeader, SkipRows FROM sniff_csv({', '.join(args)})", params
            ).fetchone()
    except duckdb.Error:
        return None


def _first_part_sniff(sample: Path, given: dict[str, Any]) -> tuple[str, str, bool, int] | None:
    """_duckdb_sniff of SAMPLE's head before its first repeated table line and the title lines above that repeat:
    reports joined together (`cat jan.csv feb.csv`, each part with its title) defeat the sniffer, which then
    read the whole file as one column. None where SAMPLE repeats no line."""
    with open(sample, encoding="utf-8", newline="") as fh:
        lines = fh.read().splitlines(keepends=True)
    at = _first_repeat(lines)
    if at is None:
        return None
    bare = lines[at].rstrip("\r\n")
    while at and all(lines[at - 1].count(d) < bare.count(d) for d in DELIMITERS if d in bare):
        at -= 1  # the part's title and blank lines
    head = sample.with_name(sample.name + ".part")
    try:
        head.write_text("".join(lines[:at]), encoding="utf-8", newline="")
        return _duckdb_sniff(head, given)
    finally:
        head.unlink(missing_ok=True)


def _first_repeat(lines: list[str]) -> int | None:
    """The index of the first of LINES that repeats an earlier one and holds a delimiter; None when none does."""
    seen: set[str] = set()
    for at, line in enumerate(lines):
        bare = line.rstrip("\r\n")
        if bare in seen and any(d in bare for d in DELIMITERS):
            return at
        seen.add(bare)
    return None


def sniff_dialect(sample: Path, first_line: str, given: dict[str, Any]) -> tuple[str, str | None, bool, int]:
    """Delimiter, quote, header and the lines above the table (a report's title) of the UTF-8 SAMPLE by DuckDB's
    sniffer, the GIVEN options fixed.

    A delimiter absent from the first line while another candidate is there (the sniffer misled by a quoted
    value the sample cuts) gives way to the most frequent candidate of that line, and the rest is sniffed again.
    """
    row = _duckdb_sniff(sample, given)
    if row is None or ("delimiter" not in given and row[0] not in first_line):
        row = _first_part_sniff(sample, given) or row
    fallback = _fallback_delimiter(first_line)
    if "delimiter" not in given and (row is None or row[0] not in first_line) and fallback in first_line:
        given = {**given, "delimiter": fallback}
        row = _duckdb_sniff(sample, given)
    if row is None:
        row = (fallback, '"', True, 0)
    delimiter, quote, header, skip = row
    if delimiter not in DELIMITERS:
        delimiter = fallback
    quote = quote if quote and len(quote) == 1 else '"'
    delimiter, quote = given.get("delimiter", delimiter), given.get("quote", quote)
    if "header" not in given and not header:
        header = _header_past_blanks(sample, delimiter, quote)
    return delimiter, quote, given.get("header", bool(header)), int(skip or 0)


def _header_past_blanks(sample: Path, delimiter: str, quote: str | None) -> bool:
    """Whether SAMPLE has a header once the columns its first row leaves blank are set aside. DuckDB's sniffer
    reads a first row with a blank cell as data, and so pandas' `to_csv` (a nameless index column first) and Excel's
    trailing ";;" would lose their header when the named columns hold text."""
    try:
        with open(sample, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh, delimiter=delimiter, quotechar=quote or "\x00"))
    except csv.Error:
        return False
    blank = {i for i, cell in enumerate(rows[0] if rows else []) if not cell.strip()}
    if not blank or len(blank) == len(rows[0]) or len(rows) < 2:
        return False
    named = sample.with_name(sample.name + ".named")
    try:
        with open(named, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, delimiter=delimiter, quotechar=quote or '"', lineterminator="\n")
            writer.writerows([c for i, c in enumerate(r) if i not in blank] for r in rows)
        row = _duckdb_sniff(named, {"delimiter": delimiter, "quote": quote})
    finally:
        named.unlink(missing_ok=True)
    return bool(row and row[2])
