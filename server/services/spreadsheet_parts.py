"""Binary Excel (.xlsb) and OpenDocument (.ods, LibreOffice's and Google Sheets') workbooks, read by calamine: its
sheet is held whole in memory, so the cells a workbook declares are bounded before it is opened, and its rows are
given from A1 as openpyxl gives an .xlsx's."""

from __future__ import annotations

import datetime
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from server.errors import ApiError, invalid
from server.services import image_zip

SUFFIXES = (".xlsb", ".ods")
KINDS = {".xlsb": "binary Excel", ".ods": "OpenDocument"}
# calamine holds a sheet's cells at about 62 bytes each (10 M cells of a repeated value took 623 MiB): a larger
# sheet is refused with the advice to save it as CSV, whose read is streamed.
MAX_CELLS = 5_000_000
# An .xlsb cell record is at least 10 bytes (a blank one: its header, column and style), so a sheet part of
# MAX_CELLS * XLSB_CELL_BYTES bytes may hold MAX_CELLS cells.
XLSB_CELL_BYTES = 10
# An .ods sheet is XML whose rows and cells say how many times they repeat (LibreOffice writes a million empty rows
# as one element): the cells holding a value are counted with their repeats, in any namespace prefix. A cell's value
# type is counted by bytes.count (LibreOffice writes it twice, as office: and calcext:), and only the rarer repeats
# are looked at one by one: 0.4-0.6 s for 100,000 rows of 5 cells (73 MiB of XML), about calamine's own read.
_VALUE_TYPE, _SECOND_VALUE_TYPE = b":value-type=", b"calcext:value-type="
_COLUMNS_REPEATED = re.compile(rb"number-columns-repeated\s*=\s*[\"'](\d+)")
_REPEATED_ROW = re.compile(
    rb"<[\w.-]+:table-row\b[^>]*?number-rows-repeated\s*=\s*[\"'](\d+)[^>]*(?<!/)>(.*?)</[\w.-]+:table-row>", re.S
)
_ROW_END = b"table-row>"
CHUNK = 1 << 20
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")  # the stream's name in the container's directory
ENCRYPTION_HEAD = 1 << 20  # the bytes looked in for it, with the container's first directory sectors
MAX_ROW_BYTES = 64 << 20  # a row longer than this is counted in pieces (its repeats may then be missed)


def is_damage(exc: BaseException) -> bool:
    """Whether EXC, raised reading a workbook, says the file is damaged: the readers' errors, and calamine's panics,
    which pyo3 raises as a PanicException deriving from BaseException (an interrupt or an exit is not damage)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def check(upload: Path, suffix: str, max_bytes: int) -> None:
    """Refuse the workbook UPLOAD (SUFFIX) before calamine opens it: 415 when it is no ZIP, 422 `bad_archive` when
    its parts declare more than MAX_BYTES, or more than MAX_CELLS cells (an .ods in all its sheets, an .xlsb in its
    largest)."""
    with open_zip(upload, f"This file is not a readable {KINDS[suffix]} workbook ({suffix}).") as archive:
        infos = archive.infolist()
        if sum(info.file_size for info in infos) > max_bytes:
            raise _too_large(f"expands to more than {max_bytes >> 20} MB")
        cells = _ods_cells(archive) if suffix == ".ods" else _xlsb_cells(infos)
    if cells > MAX_CELLS:
        raise _too_large(f"declares more than {MAX_CELLS:,} cells")


def open_zip(upload: Path, otherwise: str) -> zipfile.ZipFile:
    """The workbook UPLOAD opened as the ZIP it should be (image_zip.open_archive's checks); else not_a_zip's error,
    OTHERWISE its 415's message."""
    archive = image_zip.open_archive(upload) if zipfile.is_zipfile(upload) else None
    if archive is None:
        raise not_a_zip(upload, otherwise)
    return archive


def not_a_zip(upload: Path, otherwise: str) -> ApiError:
    """Why the workbook UPLOAD, which should be a ZIP, is not one: a 422 when Excel encrypted it (a password to
    open it makes the file an OLE container holding an EncryptedPackage), else the 415 OTHERWISE."""
    with open(upload, "rb") as handle:
        head = handle.read(ENCRYPTION_HEAD)
        if head.startswith(OLE_MAGIC) and len(head) >= 52:
            # the container's header gives its sector size and its directory's first sector (where the names are)
            shift, first = int.from_bytes(head[30:32], "little"), int.from_bytes(head[48:52], "little")
            if 7 <= shift <= 16:
                handle.seek((first + 1) << shift)
                head += handle.read(4 << shift)
    if head.startswith(OLE_MAGIC) and ENCRYPTED_PACKAGE in head:
        return invalid(
            "The workbook is protected by a password to open it, so it is encrypted and cannot be read. In Excel: "
            "File > Info > Protect Workbook > Encrypt with Password, clear the password, save, and upload it again.",
            code="encrypted_workbook",
        )
    return ApiError(415, "unsupported_file", otherwise)


def _too_large(what: str) -> ApiError:
    return invalid(f"The workbook {what}; save its sheet as a CSV and upload that.", code="bad_archive")


def _xlsb_cells(infos: list[zipfile.ZipInfo]) -> int:
    """The most cells the largest sheet part of an .xlsb may hold."""
    sheets = [i.file_size for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".bin")]
    return max(sheets, default=0) // XLSB_CELL_BYTES


def _ods_cells(archive: zipfile.ZipFile) -> int:
    """The cells holding a value in an .ods's content.xml, repeats counted (0 when it has none: calamine says so)."""
    try:
        stream = archive.open("content.xml")
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return 0
    try:
        with stream:
            return _valued_cells(stream)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return 0  # a damaged part: calamine's own error names it


def _valued_cells(stream: IO[bytes]) -> int:
    """The cells with a value type in the OpenDocument XML STREAM, each times its row's and its own repeats; the
    count stops once past MAX_CELLS. Read in chunks that end at a row's end."""
    total = 0
    rest = b""
    while total <= MAX_CELLS and (chunk := stream.read(CHUNK)):
        data = rest + chunk
        end = _last_row_end(data) if len(data) < MAX_ROW_BYTES else len(data)
        total += _cells_in(data[:end])
        rest = data[end:]
    return total + _cells_in(rest)


def _last_row_end(data: bytes) -> int:
    """Where DATA's last closing row tag (`</table:table-row>`) ends; 0 when it has none."""
    at = len(data)
    while (at := data.rfind(_ROW_END, 0, at)) >= 0:
        opening = data.rfind(b"<", 0, at)
        if opening < 0:
            return 0
        if data[opening + 1 : opening + 2] == b"/":
            return at + len(_ROW_END)
        at = opening
    return 0


def _cells_in(rows: bytes) -> int:
    """The valued cells of whole ROWS of XML, with their rows' and their own repeats."""
    cells = _row_cells(rows)
    for repeats, row in _REPEATED_ROW.findall(rows):
        cells += (int(repeats) - 1) * _row_cells(row)
    return cells


def _row_cells(xml: bytes) -> int:
    """The valued cells in XML, with their own repeats (not their rows')."""
    cells = xml.count(_VALUE_TYPE) - xml.count(_SECOND_VALUE_TYPE)
    for found in _COLUMNS_REPEATED.finditer(xml):
        tag = xml[xml.rfind(b"<", 0, found.start()) : xml.find(b">", found.end())]
        if b"value-type" in tag and b"table-cell" in tag:
            cells += int(found.group(1)) - 1
    return cells


def rows_from_a1(sheet: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of calamine's SHEET from A1 (calamine starts at the first used cell), each as wide as the used
    range, as openpyxl gives an .xlsx's; cells as the CSV writes them (value)."""
    start = sheet.start or (0, 0)
    width = start[1] + sheet.width
    for _ in range(start[0]):
        yield (None,) * width
    lead = (None,) * start[1]
    for row in sheet.iter_rows():
        cells = lead + tuple(value(cell) for cell in row)
        yield cells + (None,) * (width - len(cells))


def value(cell: Any) -> Any:
    """A calamine cell as openpyxl gives one: empty is None, a whole float an int (an .ods and an .xlsb hold
    numbers as floats: 5 stays 5), a duration as Excel shows `[h]:mm:ss`."""
    if cell == "":
        return None
    if type(cell) is float and cell.is_integer() and abs(cell) < 2**53:
        return int(cell)
    if isinstance(cell, datetime.timedelta):
        seconds = int(cell.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return cell
