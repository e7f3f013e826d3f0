"""How to read an uploaded CSV: the reading options given by the user, the rest detected (encoding, then the
dialect by DuckDB's sniffer, then the number format), and the file turned into UTF-8 when it is not."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.errors import ApiError, invalid
from server.services import csv_dialect, csv_numbers, csv_rewrites, csv_unit_lines
from server.services.csv_encoding import detect_encoding
from server.services.csv_options import parse_options

# The suffixes read as delimited text: Excel saves "Unicode Text" as .txt (UTF-16, tabs); many tools write .tsv;
# UCI's datasets are .data (`iris.data`, `adult.data`), other sources' .dat, .tab and .psv (pipes).
DELIMITED = (".csv", ".tsv", ".txt", ".data", ".dat", ".tab", ".psv")
DELIMITED_NAMES = ".csv (or " + ", ".join(DELIMITED[1:]) + ")"
HEAD_BYTES = 4 << 20  # what detection reads (and all that a sniff stores)
SNIFF_CHARS = 256 << 10  # what DuckDB's sniffer reads of it (its cost grows with it)
TRANSCODE_CHUNK = 1 << 20
UTF8 = ("utf-8", "utf-8-sig")
LINE_BREAKS = re.compile(r"\s*[\r\n\t\v\f]+\s*")  # inside a header's name: one space
SEP_LINE = re.compile(r'"?sep=([,;\t|])"?[ \t]*(\r\n|\n|\r)')
# The first line of a Campbell Scientific data logger's table file (TOA5, the older TOACI1): the format, the logger's
# model and serial number, its program, the table's name. It is wider than the table, whose header follows.
LOGGER_LINE = re.compile(r'"?(TOA5|TOACI1)"?,[^\r\n]*(\r\n|\n|\r)')
# data.md's null markers, and the usual ones pyarrow honoured before
NULL_VALUES = ["", "NA", "N/A", "n/a", "#N/A", "null", "NULL", "None", "NaN", "nan", "-"]
NULL_VALUES += ["#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"]  # Excel's errors: cells without a value


@dataclass
class CsvSource:
    """How a CSV file is read; `as_dict` is what is stored as the dataset's `source`."""

    delimiter: str = ","
    quote: str | None = '"'
    header: bool = True
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None
    null_values: list[str] = field(default_factory=lambda: list(NULL_VALUES))
    detected: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    number_columns: list[str] = field(default_factory=list)
    code_columns: list[str] = field(default_factory=list)  # digits kept as text (csv_numbers.code_columns)
    formula_columns: list[str] = field(default_factory=list)  # ="00123" read as 00123 (csv_numbers)
    units: dict[str, str] = field(default_factory=dict)  # number columns written with a unit ("" none: negatives)
    names: list[str] | None = None  # the header's names where some are blank (header_names), else the parser's
    skip_lines: int = 0  # lines before the header: a "sep=;" line, a report's title (`skip_rows`)
    units_lines: int = 0  # lines right below the header naming units, not values (`skip_rows_after_header`)
    skip_initial_space: bool = False  # values written after the delimiter and a space (`a, b`): the spaces left out
    whitespace: bool = False  # values separated by runs of spaces: read as tabs from a copy (delimiter "whitespace")
    quoted_after_space: bool = False  # and some quoted after it (`1, "a, b"`): the file is rewritten first
    empty_rows: int = 0  # rows of separators alone at the end, left out (table_store)
    totals_row: str | None = None  # the label of a totals row at the end, left out (totals_row)
    short_rows: int = 0  # rows with fewer cells than the header, given empty ones (csv_rewrites.padded)
    first_short_row: int = 0  # the line of the first
    repeated_lines: list[str] = field(default_factory=list)  # the header (and a "sep=" line): their repeats go
    repeats: int | None = None  # how many such repeats were left out (None: not looked for in the whole file)
    first_repeat: int = 0  # the line of the first
    title_lines: int = 0  # a joined part's title lines above its repeated header, left out with it
    width: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The stored and returned `source` object (number_columns and code_columns are reading details, not
        options)."""
        keys = ("delimiter", "quote", "header", "encoding", "decimal", "thousands", "null_values", "detected")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys} | {
            "delimiter": "whitespace" if self.whitespace else self.delimiter,
            "skip_rows": self.skip_lines,
            "skip_rows_after_header": self.units_lines,
            "skip_initial_space": self.skip_initial_space,
        }
        out["ambiguous"] = list(self.ambiguous) + [
            f"{name}: numbers written with {unit!r}, read without it."
            if unit
            else f"{name}: negative numbers written in parentheses, with a trailing minus or a minus sign (−), "
            "read as numbers."
            for name, unit in self.units.items()
            if name in self.number_columns  # still numbers: a value further down that is not one makes it text
        ]
        out["ambiguous"] += [
            f'{name}: values written as Excel text formulas (="00123"), read as the text inside them.'
            for name in self.formula_columns
        ]
        if self.empty_rows:
            out["ambiguous"].append(
                f"{self.empty_rows} row(s) without any value at the end (separators alone, as Excel writes them "
                "below a table) left out."
            )
        if self.short_rows:
            out["ambiguous"].append(
                f"{self.short_rows} row(s) had fewer values than the header (the first on line "
                f"{self.first_short_row}): the cells missing at their end were read as missing values."
            )
        if self.repeats:
            out["ambiguous"].append(
                f"{self.repeats} line(s) repeating the header{' or its sep= line' * (len(self.repeated_lines) > 1)} "
                f"(files joined together) left out, the first on line {self.first_repeat}"
                + (f", with the {self.title_lines} title line(s) above them." if self.title_lines else ".")
            )
        if self.totals_row:
            out["ambiguous"].append(
                f"The last row ({self.totals_row!r}) holds the sums of the number columns above it: left out, as a "
                "spreadsheet's totals row is no record."
            )
        return out


def _decode_error(encoding: str, offset: int) -> Exception:
    return invalid(
        f"The CSV is not {encoding} (bad byte near offset {offset}). Give its encoding (the `encoding` field: "
        "utf-8, utf-16, cp1252, latin-1, …) or re-save it as UTF-8.",
        code="bad_encoding",
    )


def transcode(src: Path, encoding: str, dest: Path, limit: int | None = None) -> Path:
    """Write SRC (in ENCODING) to DEST as UTF-8 without a BOM, 1 MiB at a time (at most LIMIT bytes of SRC)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    try:
        with open(src, "rb") as fh, open(dest, "w", encoding="utf-8", newline="") as out:
            while limit is None or done < limit:
                chunk = fh.read(TRANSCODE_CHUNK if limit is None else min(TRANSCODE_CHUNK, limit - done))
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    raise _decode_error(encoding, done + exc.start) from None
                except (UnicodeError, ValueError):
                    raise _decode_error(encoding, done) from None
                if done == 0 and text.startswith("\ufeff"):
                    text = text[1:]
                out.write(text)
                if not chunk:
                    break
                done += len(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def head_text(path: Path, encoding: str) -> str:
    """The first HEAD_BYTES of PATH decoded, cut after its last line break (unless it has none)."""
    with open(path, "rb") as fh:
        raw = fh.read(HEAD_BYTES)
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw)
    except (UnicodeError, ValueError):  # UTF-16/32 without a BOM, …
        raise _decode_error(encoding, 0) from None
    text = text.removeprefix("\ufeff")
    cut = max(text.rfind("\n"), text.rfind("\r"))
    return text[: cut + 1] if cut > 0 and len(raw) >= HEAD_BYTES else text


def _cut(text: str, size: int) -> str:
    """TEXT up to its last line break within SIZE characters (all of it when shorter or without one)."""
    if len(text) <= size:
        return text
    cut = text.rfind("\n", 0, size)
    return text[: cut + 1] if cut > 0 else text


def detect(path: Path, fields: dict[str, str], work: Path) -> CsvSource:
    """The CsvSource of the CSV at PATH: the options given in FIELDS (validated), the others detected from its
    first MiBs. WORK is a scratch file path for the UTF-8 sample (removed)."""
    given = parse_options(fields)
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    source = CsvSource(encoding=given.get("encoding") or detect_encoding(head, len(head) >= HEAD_BYTES))
    if b"\x00" in head and not source.encoding.startswith(("utf-16", "utf-32")):
        raise ApiError(
            415,
            "unsupported_file",
            "This file is binary, not a CSV. Upload a text CSV, Parquet or ZIP (a UTF-16 CSV that is not mostly "
            "Latin letters and has no byte-order mark needs encoding=utf-16-le or utf-16-be).",
        )
    text = head_text(path, source.encoding)
    hint = None if "skip_rows" in given else SEP_LINE.match(text)  # Excel's "sep=;" line names the delimiter
    if hint:
        source.skip_lines, text = 1, text[hint.end() :]
    elif "skip_rows" not in given:
        text = _without_logger_line(source, text)
    text = csv_dialect.after_lines(text, given.get("skip_rows", 0))  # lines above the table, as given
    source.skip_lines += given.get("skip_rows", 0)
    text, hinted = _settle_whitespace(source, text, given, hint)
    try:
        work.write_text(_cut(text, SNIFF_CHARS), encoding="utf-8", newline="")
        *dialect, above = csv_dialect.sniff_dialect(work, text.split("\n", 1)[0], hinted)
    finally:
        work.unlink(missing_ok=True)
    source.delimiter, source.quote, source.header = dialect
    if not above and "skip_rows" not in given:  # a title as wide as the table: DuckDB sees no lines above it
        above = csv_dialect.padded_titles(text, source.delimiter, source.quote)
    text = _settle_preamble(source, text, above)
    first_line = text.split("\n", 1)[0]
    source.null_values = given.get("null_values", source.null_values)
    text = _settle_repeats(source, text, first_line, hint.group(0) if hint else None)
    source.detected = [k for k in ("encoding", "delimiter", "quote", "header", "skip_rows") if k not in given]
    _settle_initial_space(source, text, given)
    if source.header:
        source.names = header_names(text, source)
    text = _settle_units(source, text, given)
    csv_numbers.settle(source, text, given)
    check_one_column(source, first_line)
    return source


def _without_logger_line(source: CsvSource, text: str) -> str:
    """TEXT without a data logger's first line (LOGGER_LINE), counted in SOURCE's skip_lines and said."""
    found = LOGGER_LINE.match(text)
    if not found:
        return text
    source.skip_lines += 1
    source.ambiguous.append(
        f"skip_rows: the first line describes the data logger ({found.group(0).strip()[:100]!r}), as Campbell "
        f"Scientific's {found.group(1)} files begin: left out (give `skip_rows` to change it)."
    )
    return text[found.end() :]


def _settle_whitespace(
    source: CsvSource, text: str, given: dict[str, Any], hint: re.Match[str] | None
) -> tuple[str, dict[str, Any]]:
    """TEXT (the head) with its runs of spaces made tabs when its values are separated so (delimiter=whitespace
    given, or csv_dialect.whitespace_columns), said in SOURCE; and the options the sniffer is given."""
    hinted = {"delimiter": hint.group(1), **given} if hint else dict(given)
    if given.get("delimiter") == "whitespace" or ("delimiter" not in hinted and csv_dialect.whitespace_columns(text)):
        source.whitespace, hinted["delimiter"] = True, "\t"
        text = csv_dialect.whitespace_as_tabs(text)
        if "delimiter" not in given:
            source.ambiguous.append(
                "delimiter: the values are separated by spaces (as in UCI's .data files), and read so "
                "(give `delimiter` to change it)."
            )
    return text, hinted


def _settle_preamble(source: CsvSource, text: str, above: int) -> str:
    """TEXT without the ABOVE lines above its table (a report's title, an account number, a blank line), when
    they are such lines (csv_dialect.is_preamble), said in SOURCE."""
    if not csv_dialect.is_preamble(text, above, source.delimiter, source.quote, source.header):
        return text
    table = csv_dialect.after_lines(text, above)
    lines = (line.strip().rstrip(source.delimiter) for line in text[: len(text) - len(table)].splitlines())
    skipped = [line for line in lines if line]
    source.skip_lines += above
    source.ambiguous.append(
        f"skip_rows: the {above} line(s) above the table were left out ({'; '.join(skipped)[:120]!r}); "
        "give `skip_rows` to change it."
    )
    return table


def _settle_repeats(source: CsvSource, text: str, first_line: str, sep_line: str | None) -> str:
    """TEXT (the head) without the lines that repeat its header or its "sep=" line, as files joined together hold
    them (`cat jan.csv feb.csv`); the lines noted in SOURCE, whose repeats the whole file then loses
    (read_as_utf8; table_store when a repeat lies beyond the head). A file without a header keeps its rows."""
    if not source.header or len(_first_row(first_line, source) or []) < 2:  # one column: its value may be its name
        return text
    source.repeated_lines = [csv_rewrites.bare_line(first_line)]
    source.repeated_lines += [csv_rewrites.bare_line(sep_line)] if sep_line else []
    above = frozenset(source.repeated_lines[1:])  # the "sep=" line was the file's first
    titles = {"titles": source.skip_lines, "delimiter": source.delimiter}  # each part's title, as the first's
    text, found = csv_rewrites.without_repeats(text, set(source.repeated_lines), above, **titles)
    source.repeats = 0 if found else None  # some in the head: the whole file is rewritten before it is read
    return text


def _settle_units(source: CsvSource, text: str, given: dict[str, Any]) -> str:
    """TEXT (the head) without the lines right below its header that name units (`cm`, `kg`; csv_unit_lines), as GIVEN
    or found, counted in SOURCE and said: read as records, they made each number column text."""
    if "skip_rows_after_header" in given:
        source.units_lines = given["skip_rows_after_header"] if source.header else 0
    elif source.header:
        source.detected.append("skip_rows_after_header")
        found = csv_unit_lines.units_lines(text, source.delimiter, source.quote, source.null_values)
        source.units_lines = len(found)
        if found:
            shown = "; ".join(", ".join(c for c in row if c) for row in found)
            source.ambiguous.append(
                f"skip_rows_after_header: the {len(found)} line(s) right below the header name units, not values "
                f"({shown[:120]!r}): left out (give `skip_rows_after_header=0` to read them as rows)."
            )
    if not source.units_lines:
        return text
    header = text[: len(text) - len(csv_dialect.after_lines(text, 1))]
    return header + csv_dialect.after_lines(text, 1 + source.units_lines)


def _settle_initial_space(source: CsvSource, text: str, given: dict[str, Any]) -> None:
    """Set SOURCE.skip_initial_space as GIVEN or, when not given, as TEXT's rows show (said in ambiguous)."""
    if "skip_initial_space" in given:
        source.skip_initial_space = given["skip_initial_space"]
        return
    source.detected.append("skip_initial_space")
    if csv_dialect.spaces_after_delimiter(text, source.delimiter, source.quote, source.header):
        source.skip_initial_space = True
        source.quoted_after_space = bool(source.quote) and f"{source.delimiter} {source.quote}" in text
        source.ambiguous.append(
            "skip_initial_space: every value follows its delimiter and a space (`a, b`): the spaces were left out "
            "(give `skip_initial_space=false` to keep them)."
        )


def header_names(text: str, source: CsvSource) -> list[str] | None:
    """The names of TEXT's header without spaces around them, each blank one named column_<position> (Excel writes
    a trailing ";;;" for columns once used) and each repeated one <name>_<position>, noted in SOURCE.ambiguous;
    None when every column has a name of its own, as written."""
    cells = _first_row(text, source)
    if cells is None or len(cells) < 2:
        return None
    names: list[str] = []
    # `age, workclass` or `Name ` name `workclass` and `Name`; Excel's wrapped title "Total<line break>Revenue" a space
    bare = [" ".join(LINE_BREAKS.split(cell.strip())) for cell in cells]
    given, taken = set(bare), set()  # sets: a header may have 100,000 names before it is refused
    for i, cell in enumerate(bare):
        name = cell or f"column_{i + 1}"
        while name in taken or (name != cell and name in given):
            name = f"{name}_{i + 1}"
        names.append(name)
        taken.add(name)
    if names == cells:
        return None
    renamed = [f"{cell!r} → {name}" for cell, name in zip(bare, names, strict=True) if cell != name]
    if renamed:
        shown = ", ".join(renamed[:5]) + (", …" if len(renamed) > 5 else "")
        source.ambiguous.append(f"header: {len(renamed)} column(s) had no name or another's, and were named {shown}.")
    # With spaces after the delimiter, that sentence tells of the spaces before names; line breaks are told here.
    told = source.skip_initial_space
    trimmed = [
        f"{c!r} → {n}" for c, n in zip(cells, bare, strict=True) if c != n and n and not (told and c.strip() == n)
    ]
    if trimmed:
        shown = ", ".join(trimmed[:5]) + (", …" if len(trimmed) > 5 else "")
        source.ambiguous.append(f"header: spaces or line breaks in {len(trimmed)} name(s) were left out: {shown}.")
    return names


def _first_row(text: str, source: CsvSource) -> list[str] | None:
    """The cells of TEXT's first row read with SOURCE's delimiter and quote; None when it does not parse."""
    try:
        return next(
            csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter, quotechar=source.quote or "\x00"), []
        )
    except csv.Error:
        return None


def check_one_column(source: CsvSource, first_line: str) -> None:
    """422 delimiter_not_found when FIRST_LINE would be one column while it holds ; tab or |."""
    cells = _first_row(first_line, source)
    if cells is None or len(cells) != 1:
        return
    found = [d for d in (";", "\t", "|") if d in cells[0] and d != source.delimiter]
    if found:
        shown = "tab" if found[0] == "\t" else found[0]
        raise invalid(
            f"The file would be read as one column, but its first line holds {shown!r}: "
            f"give delimiter={shown!r} (the `delimiter` field) to read it.",
            errors=[{"field": "delimiter", "message": f"give {shown!r}"}],
            code="delimiter_not_found",
        )


@contextmanager
def read_as_utf8(path: Path, fields: dict[str, str]) -> Iterator[tuple[CsvSource, Path]]:
    """How the CSV at PATH is read (detect, FIELDS given) and its text as UTF-8: PATH itself, or a copy beside it
    (transcoded, the header's repeats left out, csv_rewrites) removed afterwards."""
    source = detect(path, fields, path.with_name(path.name + ".head"))
    with ExitStack() as copies:
        text = path
        if source.encoding not in UTF8:
            text = transcode(path, source.encoding, path.with_name(path.name + ".utf8"))
            copies.callback(text.unlink, missing_ok=True)
        if source.whitespace:  # values separated by runs of spaces: tabs, as detect read the head
            text = copies.enter_context(csv_rewrites.tabs_for_whitespace(text))
        if source.repeats == 0:  # repeats in the head (detect): left out of the whole file, counted
            text = copies.enter_context(csv_rewrites.once(text, source))
        if source.quoted_after_space:  # after the repeats are gone: the rewrite changes how lines are written
            text = copies.enter_context(csv_rewrites.quotes_after_spaces_read(text, source))
        yield source, text
