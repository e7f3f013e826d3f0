"""Copies of an uploaded UTF-8 CSV rewritten for the parser, row by row, beside it: values quoted after a space
(`1, "Smith, John"`), rows with fewer cells than the header, and the header repeated where files were joined.
pyarrow's parser reads none of these as a person means them; each copy is made only for a file that needs it."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BOM = "\ufeff"
SCAN_BLOCK = 4 << 20


def without_spaces_before_quotes(src: Path, source: Any, dest: Path) -> Path:
    """Write the UTF-8 CSV SRC to DEST with the spaces after each delimiter left out, quotes kept where needed, for
    a file whose values are quoted after a space (`1, "Smith, John"`): the parser would read those quotes as
    written and split the value at its delimiter. Python's csv module reads them (skipinitialspace), row by row."""
    opts = {"delimiter": source.delimiter, "quotechar": source.quote}
    try:
        with open(src, encoding="utf-8-sig", newline="") as fh, open(dest, "w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n", **opts).writerows(csv.reader(fh, skipinitialspace=True, **opts))
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def with_short_rows_padded(src: Path, source: Any, dest: Path) -> tuple[int, int]:
    """Write the UTF-8 CSV SRC to DEST with each row that has fewer cells than the header given empty ones at its
    end (as pandas reads such a file: some programs leave a row's empty cells at its end out); (rows padded, the
    line of the first). Blank lines and the lines above the table stay as they are."""
    width, padded, first = source.width, 0, 0
    opts: dict[str, Any] = {"delimiter": source.delimiter}
    opts |= {"quotechar": source.quote} if source.quote else {"quoting": csv.QUOTE_NONE, "quotechar": None}
    try:
        with open(src, encoding="utf-8-sig", newline="") as fh, open(dest, "w", encoding="utf-8", newline="") as out:
            # strict: a quote left open, or text after a closing one, is csv.Error (the parser's 422 stands)
            reader, writer = csv.reader(fh, strict=True, **opts), csv.writer(out, lineterminator="\n", **opts)
            for i, row in enumerate(reader):
                if i >= source.skip_lines and row and len(row) < width:
                    padded, first = padded + 1, first or reader.line_num
                    row = row + [""] * (width - len(row))
                writer.writerow(row)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return padded, first


def with_tabs(src: Path, dest: Path) -> Path:
    """Write SRC to DEST with each line's runs of spaces and tabs made one tab (csv_dialect.whitespace_columns)."""
    from server.services.csv_dialect import whitespace_as_tabs

    try:
        with open(src, encoding="utf-8-sig", newline="") as fh, open(dest, "w", encoding="utf-8", newline="") as out:
            for line in fh:
                out.write(whitespace_as_tabs(line))
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def bare_line(line: str) -> str:
    """LINE without its line break and a byte-order mark before it (`cat` of two Excel exports puts the second
    file's mark in the middle of the first)."""
    return line.removeprefix(BOM).rstrip("\r\n")


class Repeats:
    """Which lines of a file to leave out: each that repeats one of LINES after its first (bare_line), those of
    SEEN_BEFORE (met above) from the first on, and the up to TITLES lines right above such a repeat that hold fewer
    DELIMITERs than the header (a joined part's title and blank lines, as many as the first part's skip_lines)."""

    def __init__(
        self, lines: set[str], seen_before: frozenset[str] = frozenset(), titles: int = 0, delimiter: str = ","
    ):
        """See the class; binary() makes it read bytes."""
        self.lines, self.seen, self.titles, self.delimiter = lines, set(seen_before), titles, delimiter
        self.width = max((line.count(delimiter) for line in lines), default=0)
        self.held: list[Any] = []
        self.repeats = self.first = self.title_lines = 0
        self.bare: Callable[[Any], Any] = bare_line

    def binary(self) -> Repeats:
        """The same, reading lines as bytes (the file is copied as it is: no decoding)."""
        self.lines, self.seen = {x.encode() for x in self.lines}, {x.encode() for x in self.seen}
        self.delimiter, mark = self.delimiter.encode(), BOM.encode()
        self.bare = lambda line: line.removeprefix(mark).rstrip(b"\r\n")
        return self

    def kept(self, line: Any, number: int) -> list[Any]:
        """The lines to write now that LINE (the file's NUMBERth, text or bytes) is read."""
        bare = self.bare(line)
        if bare in self.seen:
            self.repeats, self.first = self.repeats + 1, self.first or number
            self.title_lines += sum(1 for held in self.held if held.strip())
            self.held = []
            return []
        if bare in self.lines:
            self.seen.add(bare)
        elif self.titles and bare.count(self.delimiter) < self.width:
            self.held.append(line)  # the last TITLES such lines: written unless a repeat follows
            return [self.held.pop(0)] if len(self.held) > self.titles else []
        out, self.held = [*self.held, line], []
        return out

    def rest(self) -> list[Any]:
        """The lines still held at the file's end."""
        out, self.held = self.held, []
        return out


def without_repeats(
    text: str, lines: set[str], seen_before: frozenset[str] = frozenset(), **titles: Any
) -> tuple[str, int]:
    """TEXT without the lines Repeats leaves out (TITLES: its titles and delimiter); (the text, how many repeats)."""
    if not any(text.find(line, 1) != -1 for line in lines):  # most files: no line to look at
        return text, 0
    repeats = Repeats(lines, seen_before, **titles)
    kept = [out for number, line in enumerate(text.splitlines(keepends=True), 1) for out in repeats.kept(line, number)]
    return "".join(kept + repeats.rest()), repeats.repeats


def holds_again(path: Path, lines: set[str]) -> bool:
    """Whether the UTF-8 file at PATH holds one of LINES again after its first line, a mark before it or not. Read
    in blocks into one buffer: a memory map of the whole file would count it all as the process's memory (the
    upload's bound), and joining blocks would copy each."""
    needles = [line.encode() for line in lines]
    keep = max((len(n) for n in needles), default=0) + 8  # carried into the next block: a line across two
    buf = bytearray(SCAN_BLOCK + keep)
    filled, start = 0, 1  # the file's first line is the header itself
    with open(path, "rb", buffering=0) as fh, memoryview(buf) as view:
        while True:
            got = fh.readinto(view[filled:])
            filled += got
            if any(_line_in(buf, needle, start, filled, ended=not got) for needle in needles):
                return True
            if not got:
                return False
            carry = min(keep, filled)
            buf[:carry], filled, start = buf[filled - carry : filled], carry, 0


def _line_in(buf: bytearray, needle: bytes, start: int, end: int, ended: bool) -> bool:
    """Whether NEEDLE is a whole line of BUF[START:END] (a line break, or one and a mark, before it)."""
    at = buf.find(needle, start, end)
    while at != -1:
        stop = at + len(needle)
        if stop + 2 > end and not ended:
            return False  # decided with the next block, which begins with this one's end
        before, after = bytes(buf[max(0, at - 4) : at]), bytes(buf[stop : min(stop + 2, end)])
        whole = after in (b"", b"\r\n") or after.startswith(b"\n")
        if whole and before.removesuffix(BOM.encode()).endswith(b"\n"):
            return True
        at = buf.find(needle, at + 1, end)
    return False


def without_repeated_lines(src: Path, repeats: Repeats, dest: Path) -> Repeats:
    """Write SRC to DEST without the lines REPEATS leaves out; REPEATS, which counts them."""
    repeats.binary()
    looked_at, mark, delimiter = repeats.lines | repeats.seen, BOM.encode(), repeats.delimiter
    titles, width = repeats.titles, repeats.width
    try:
        with open(src, "rb") as fh, open(dest, "wb") as out:
            for number, line in enumerate(fh, 1):
                # most lines are a plain row: written at once (a method call per line cost 0.2 s per million)
                if repeats.held or (titles and line.count(delimiter) < width):
                    out.writelines(repeats.kept(line, number))
                elif line.removeprefix(mark).rstrip(b"\r\n") in looked_at:
                    out.writelines(repeats.kept(line, number))
                else:
                    out.write(line)
            out.writelines(repeats.rest())
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return repeats


@contextlib.contextmanager
def _copy(path: Path, suffix: str, write: Callable[[Path], Any]) -> Iterator[Path]:
    """A copy of PATH beside it (its name and SUFFIX) that WRITE makes; removed afterwards."""
    dest = path.with_name(path.name + suffix)
    try:
        write(dest)
        yield dest
    finally:
        dest.unlink(missing_ok=True)


def padded(path: Path, source: Any, refused: Exception) -> contextlib.AbstractContextManager[Path]:
    """A copy of PATH with its short rows padded, counted in SOURCE (short_rows, first_short_row); REFUSED (the
    parser's error) when the file is not rows cut short but a quote left open, which the strict read cannot close."""

    def write(dest: Path) -> None:
        try:
            source.short_rows, source.first_short_row = with_short_rows_padded(path, source, dest)
        except csv.Error:
            raise refused from None

    return _copy(path, ".padded", write)


def once(path: Path, source: Any) -> contextlib.AbstractContextManager[Path]:
    """A copy of PATH without the repeats of SOURCE's repeated_lines, counted in SOURCE (repeats, first_repeat)."""

    def write(dest: Path) -> None:
        repeats = Repeats(set(source.repeated_lines), titles=source.skip_lines, delimiter=source.delimiter)
        without_repeated_lines(path, repeats, dest)
        source.repeats, source.first_repeat, source.title_lines = repeats.repeats, repeats.first, repeats.title_lines

    return _copy(path, ".once", write)


def tabs_for_whitespace(path: Path) -> contextlib.AbstractContextManager[Path]:
    """A copy of PATH with its values separated by tabs instead of runs of spaces (with_tabs)."""
    return _copy(path, ".tabs", lambda dest: with_tabs(path, dest))


def quotes_after_spaces_read(path: Path, source: Any) -> contextlib.AbstractContextManager[Path]:
    """A copy of PATH with the spaces after its delimiters left out (without_spaces_before_quotes)."""
    return _copy(path, ".unspaced", lambda dest: without_spaces_before_quotes(path, source, dest))
