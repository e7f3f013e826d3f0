"""Workbooks (Excel's .xlsx and .xlsm by openpyxl's streaming reader, the older .xls by xlrd, Excel's binary .xlsb and
LibreOffice's .ods by calamine, spreadsheet_parts): one sheet is written out as a UTF-8 CSV beside the upload, then
read as any CSV is, so the lines above its table, the rows of separators below it and a totals row are found as in a
CSV that Excel saved. Cells are written as their values: formulas' last computed values, dates as ISO dates, numbers
in full."""

from __future__ import annotations

import contextlib
import csv
import datetime
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from server.errors import ApiError, insufficient_storage, invalid, is_disk_full
from server.services import image_zip, spreadsheet_parts

SUFFIXES = (".xlsx", ".xlsm", ".xls", *spreadsheet_parts.SUFFIXES)
SHEET_FIELD = "sheet"  # the multipart field naming the sheet to read; the first that holds a table otherwise (as_csv)
# The reading options that mean the same for a sheet written out as a CSV (its delimiter, quote, encoding and
# number format are the writer's, not the person's).
SHEET_OPTIONS = ("header", "skip_rows", "skip_rows_after_header", "null_values")
# How the sheet's CSV is written, given to its reader: a sheet's text cells hold spaces, semicolons and commas that
# are never its delimiter (a one-column sheet of titles was read as space-separated). But a sheet one column wide
# whose cells hold ; tab or | in its first PASTED_ROWS rows is delimited lines pasted into column A (a CSV opened
# in Excel without splitting it, then saved as a workbook): its lines are written as they are and read as a CSV is,
# its delimiter and number format detected.
WRITTEN_AS = {"delimiter": ",", "quote": '"', "encoding": "utf-8"}
PASTED_ROWS = 1_000
PASTED_DELIMITERS = (";", "\t", "|")
MAX_SHARED_STRINGS = 256 << 20  # openpyxl holds a workbook's table of texts in memory
CHECK_EVERY = 10_000  # rows written between two checks of the CSV's size against the upload's budget


def _cell(value: Any) -> Any:
    """VALUE as the CSV holds it: a date without its midnight, the rest as is (called for every cell: types by
    identity, the cheapest test)."""
    kind = type(value)
    if kind is datetime.datetime:
        return value.date().isoformat() if value.time() == _MIDNIGHT else value.isoformat(sep=" ")
    if kind is datetime.date or kind is datetime.time:
        return value.isoformat()
    return value


_MIDNIGHT = datetime.time()


def _xlsx_rows(
    upload: Path, wanted: str | None, max_bytes: int, stack: contextlib.ExitStack
) -> tuple[Iterator[tuple[Any, ...]], list[str]]:
    """The rows of the sheet WANTED (None: the first) of the workbook UPLOAD and its sheets' names; STACK closes
    the workbook."""
    import openpyxl

    with spreadsheet_parts.open_zip(upload, "This file is not a readable Excel workbook (.xlsx).") as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    if sum(sizes.values()) > max_bytes or sizes.get("xl/sharedStrings.xml", 0) > MAX_SHARED_STRINGS:
        raise invalid(
            f"The workbook expands to more than {min(max_bytes, MAX_SHARED_STRINGS) >> 20} MB; save its sheet as a "
            "CSV and upload that.",
            code="bad_archive",
        )
    # a file object: given a path, openpyxl refuses one whose name does not end in .xlsx (an upload's has none)
    handle = stack.enter_context(open(upload, "rb"))
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook: each is the person's file
        raise _unreadable(exc) from None
    stack.callback(book.close)
    names = list(book.sheetnames)
    sheet = book[_pick(wanted, names)]
    width = sheet.max_column  # from the sheet's dimension; a workbook some libraries write has none
    if not width:
        width = max((len(row) for row in sheet.iter_rows(values_only=True)), default=0)
    return _padded(sheet.iter_rows(values_only=True), width), names


def _padded(rows: Iterable[tuple[Any, ...]], width: int) -> Iterator[tuple[Any, ...]]:
    """ROWS each WIDTH cells long, as Excel writes a sheet as CSV (its used range's width, every row)."""
    for row in rows:
        yield row + (None,) * (width - len(row)) if len(row) < width else row


def _xls_rows(
    upload: Path, wanted: str | None, stack: contextlib.ExitStack
) -> tuple[Iterator[tuple[Any, ...]], list[str]]:
    """_xlsx_rows for an Excel 97-2003 workbook (.xls: at most 65,536 rows, read whole)."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(upload), on_demand=True)
    except Exception as exc:  # xlrd's XLRDError and the struct errors of a damaged file
        raise _unreadable(exc) from None
    stack.callback(book.release_resources)
    names = book.sheet_names()
    sheet = book.sheet_by_name(_pick(wanted, names))

    def value(cell: Any) -> Any:
        if cell.ctype == xlrd.XL_CELL_DATE:
            return xlrd.xldate_as_datetime(cell.value, book.datemode)
        if cell.ctype == xlrd.XL_CELL_BOOLEAN:
            return bool(cell.value)
        if cell.ctype == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(cell.value, "#N/A")
        if cell.ctype == xlrd.XL_CELL_NUMBER and cell.value.is_integer() and abs(cell.value) < 2**53:
            return int(cell.value)  # xlrd reads every number as a float: 5 stays 5
        return None if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else cell.value

    rows = (tuple(value(c) for c in sheet.row(i)) for i in range(sheet.nrows))
    return _padded(rows, sheet.ncols), names


def _calamine_rows(
    upload: Path, suffix: str, wanted: str | None, max_bytes: int
) -> tuple[Iterator[tuple[Any, ...]], list[str]]:
    """_xlsx_rows for a binary Excel (.xlsb) or OpenDocument (.ods) workbook: calamine holds the sheet whole, so its
    parts are bounded first (spreadsheet_parts.check)."""
    from python_calamine import CalamineWorkbook

    spreadsheet_parts.check(upload, suffix, max_bytes)
    try:
        book = CalamineWorkbook.from_path(str(upload))
        names = list(book.sheet_names)
        sheet = book.get_sheet_by_name(_pick(wanted, names))
    except ApiError:
        raise
    except BaseException as exc:  # calamine's errors and panics (is_damage): a password-protected or damaged file
        if not spreadsheet_parts.is_damage(exc):
            raise
        raise _unreadable(exc) from None
    return spreadsheet_parts.rows_from_a1(sheet), names


def _unreadable(exc: BaseException) -> ApiError:
    return invalid(f"The workbook could not be read ({type(exc).__name__}: {str(exc)[:200]}).", code="bad_sheet")


def _pick(wanted: str | None, names: list[str]) -> str:
    """The sheet to read: WANTED (its name, any case, or its number from 1), else the first of NAMES."""
    if not wanted:
        return names[0]
    found = [n for n in names if n == wanted] or [n for n in names if n.casefold() == wanted.casefold()]
    if not found and wanted.isdigit() and 1 <= int(wanted) <= len(names):
        found = [names[int(wanted) - 1]]
    if not found:
        listed = ", ".join(repr(n) for n in names[:30])
        raise invalid(f"The workbook has no sheet {wanted!r}; its sheets are {listed}.", code="bad_sheet")
    return found[0]


def _pasted(head: list[tuple[Any, ...]]) -> bool:
    """Whether HEAD, a sheet's first rows, is delimited lines pasted into one column (see WRITTEN_AS)."""
    return (
        bool(head)
        and all(len(row) <= 1 for row in head)
        and any(isinstance(row[0], str) and any(d in row[0] for d in PASTED_DELIMITERS) for row in head if row)
    )


def _write(rows: Iterable[tuple[Any, ...]], dest: Path, budget: image_zip.Budget) -> tuple[bool, bool]:
    """Write ROWS to DEST as a CSV, its size counted against BUDGET as it grows. Whether they were delimited lines
    pasted into one column, written as the lines they are (see WRITTEN_AS), and whether they hold a table: two rows
    (a header and one) of two values or more, or two pasted lines."""
    rows = iter(rows)
    head = list(itertools.islice(rows, PASTED_ROWS))
    pasted, counted, wide = _pasted(head), 0, 0
    with open(dest, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        for written, row in enumerate(itertools.chain(head, rows), 1):
            if pasted:
                out.write(f"{_cell(row[0]) if row and row[0] is not None else ''}\r\n")
            else:
                writer.writerow([_cell(v) for v in row])
            if wide < 2 and (pasted or sum(v is not None and v != "" for v in row) >= 2):
                wide += 1
            if written % CHECK_EVERY == 0:
                size = out.tell()
                budget.add(size - counted)
                counted = size
        budget.add(out.tell() - counted)
    return pasted, wide >= 2


def _write_all(rows: Iterable[tuple[Any, ...]], dest: Path, budget: image_zip.Budget) -> tuple[bool, bool]:
    """_write, a damaged sheet met on the way a 422 and a full disk a 507."""
    try:
        return _write(rows, dest, budget)
    except ApiError:
        raise
    except OSError as exc:
        if is_disk_full(exc):
            raise insufficient_storage("Reading the workbook") from None
        raise _unreadable(exc) from None
    except BaseException as exc:  # the XML of a damaged sheet, met row by row, or calamine's panic (is_damage)
        if not spreadsheet_parts.is_damage(exc):
            raise
        raise _unreadable(exc) from None


def sheet_source(source: dict[str, Any], about: dict[str, Any]) -> dict[str, Any]:
    """SOURCE (how a sheet's CSV was read) with what as_csv's ABOUT says of the sheet, its note first among the
    sentences to check."""
    notes = [about["note"]] if "note" in about else []
    sheet = {k: v for k, v in about.items() if k not in ("note", "cut")}
    return {**source, "ambiguous": [*notes, *source.get("ambiguous", [])], **sheet}


@contextlib.contextmanager
def sheet_named_in_errors(about: dict[str, Any]) -> Iterator[None]:
    """An empty sheet's 422 (raised reading its CSV) naming the sheet and the workbook's others, as as_csv's ABOUT
    says them, instead of "the CSV"."""
    try:
        yield
    except ApiError as exc:
        if exc.code != "empty_dataset":
            raise
        others = [n for n in about["sheets"] if n != about["sheet"]]
        listed = f"its other sheets: {', '.join(repr(n) for n in others[:10])}" if others else "it has no other sheet"
        raise invalid(
            f"The sheet {about['sheet']!r} holds no table (a header, or nothing, and no rows); give `sheet` to read "
            f"another ({listed}).",
            code="empty_dataset",
        ) from None


def _more(rows: Iterator[tuple[Any, ...]]) -> bool:
    """Whether ROWS has a row left (a damaged one counts: the upload will say what is wrong with it)."""
    try:
        return next(rows, None) is not None
    except BaseException as exc:  # the XML of a damaged sheet met on that row, or calamine's panic, as _write_all
        if not spreadsheet_parts.is_damage(exc):
            raise
        return True


def _sheet_rows(
    upload: Path, suffix: str, wanted: str | None, budget: image_zip.Budget, stack: contextlib.ExitStack
) -> tuple[Iterator[tuple[Any, ...]], list[str]]:
    """The rows of the sheet WANTED (None: the first) of the workbook UPLOAD (SUFFIX), and its sheets' names."""
    if suffix == ".xls":
        return _xls_rows(upload, wanted, stack)
    if suffix in spreadsheet_parts.SUFFIXES:
        return _calamine_rows(upload, suffix, wanted, budget.limit)
    return _xlsx_rows(upload, wanted, budget.limit, stack)


def _sheet_csv(
    upload: Path, suffix: str, wanted: str | None, dest: Path, budget: image_zip.Budget, max_rows: int | None
) -> tuple[list[str], bool, bool, bool]:
    """Write the sheet WANTED (None: the first) to DEST (its first MAX_ROWS rows when given): the workbook's sheets,
    whether the sheet was pasted lines, whether it holds a table (see _write), and whether MAX_ROWS cut it."""
    with contextlib.ExitStack() as stack:
        rows, names = _sheet_rows(upload, suffix, wanted, budget, stack)
        pasted, table = _write_all(rows if max_rows is None else itertools.islice(rows, max_rows), dest, budget)
        return names, pasted, table, max_rows is not None and _more(rows)


def _sheet_note(names: list[str], sheet: str) -> str:
    """What `source` says when the sheet SHEET of a workbook of sheets NAMES was read without being named."""
    others = [n for n in names if n != sheet]
    listed = f"{', '.join(repr(n) for n in others[:5])}{' …' if len(others) > 5 else ''}"
    if sheet == names[0]:
        return (
            f"sheet: the first of the workbook's {len(names)} sheets, {sheet!r}, was read (give `sheet` to read "
            f"another: {listed})."
        )
    return (
        f"sheet: the workbook's first sheet, {names[0]!r}, holds no table (a title page, notes, or nothing), so "
        f"{sheet!r}, the first that does, was read (give `sheet` to read another: {listed})."
    )


@contextlib.contextmanager
def as_csv(
    upload: Path, suffix: str, fields: dict[str, str], budget: image_zip.Budget, max_rows: int | None = None
) -> Iterator[tuple[Path, dict[str, str], dict[str, Any]]]:
    """The sheet of the workbook UPLOAD (SUFFIX) that FIELDS' `sheet` names, else its first sheet that holds a table
    (its first when none does), as a CSV beside it (removed afterwards; its first MAX_ROWS rows when given, and
    `cut` in what is said when it has more); the reading options of FIELDS that apply to it; and what `source`
    says of it (the sheet read, the workbook's sheets, and a sentence when it has others)."""
    wanted = (fields.get(SHEET_FIELD) or "").strip() or None
    dest = upload.with_name(upload.name + ".sheet.csv")
    trial = upload.with_name(upload.name + ".next-sheet.csv")  # another sheet's CSV, kept when it holds a table
    try:
        names, pasted, table, cut = _sheet_csv(upload, suffix, wanted, dest, budget, max_rows)
        sheet = _pick(wanted, names)
        # A title page or notes before the data (or Excel's empty "Sheet1"): the first sheet that holds a table, or
        # the first sheet as it is when none does.
        for other in [] if wanted or table else names[1:]:
            _, other_pasted, other_table, other_cut = _sheet_csv(upload, suffix, other, trial, budget, max_rows)
            if other_table:
                trial.replace(dest)
                sheet, pasted, cut = other, other_pasted, other_cut
                break
        about: dict[str, Any] = {"sheet": sheet, "sheets": names} | ({"cut": True} if cut else {})
        if len(names) > 1 and not wanted:
            about["note"] = _sheet_note(names, sheet)
        options = {k: v for k, v in fields.items() if k in SHEET_OPTIONS} | ({} if pasted else WRITTEN_AS)
        yield dest, options, about
    finally:
        dest.unlink(missing_ok=True)
        trial.unlink(missing_ok=True)
