"""Which image each row of an image archive's table names: its `index.csv`, or a labels file under another name
(Kaggle's `labels.csv` or `train.csv`) naming each image by its path, its file name, or its file name without the
extension (an id), as such archives are published."""

from __future__ import annotations

import copy
import re
import unicodedata
import zipfile
from pathlib import PurePosixPath

import pyarrow as pa

from core import image_formats
from server.errors import invalid
from server.services import archive_members

PROBE_ROWS = 20  # a column names images when its first values (this many at most) all find one
LABELS_SUFFIXES = (".csv", ".tsv")
MAX_LABELS_FILES = 20  # the labels files tried, shallowest first
WEB_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]+:/+[^/]", re.IGNORECASE)  # `https://…`, not `C:/…` (one letter)


def as_posix(name: str) -> str:
    """An entry's name or an index path with backslashes as folder separators (as Windows writes them) and its text
    composed: macOS's Finder writes names decomposed (NFD: `e` and a combining accent), people type them composed
    (NFC), so `café.jpg` in an index finds the file and a class folder `Äpfel` is the label a person types."""
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


def index_path(value: object) -> str:
    """An index's image path as an entry's name is read."""
    return as_posix(str(value).strip())


class Lookup:
    """An archive's files found by path (or by the end of a path written elsewhere, or, when one alone matches, by
    path in another case, by file name, or by file name without its extension)."""

    def __init__(self, paths: dict[PurePosixPath, zipfile.ZipInfo]):
        self.paths = paths
        self.table = ""  # the name of the table being read, folded: `trainlabels` prefers train/1.png to test/1.png
        self._folded: dict[str, list[PurePosixPath]] = {}
        self._names: dict[str, list[PurePosixPath]] = {}
        self._stems: dict[str, list[PurePosixPath]] = {}
        for path in paths:
            self._folded.setdefault(str(path).casefold(), []).append(path)
            if path.suffix.lower() in image_formats.SUFFIXES:
                self._names.setdefault(path.name.casefold(), []).append(path)
                self._stems.setdefault(path.stem.casefold(), []).append(path)

    def for_table(self, table: PurePosixPath) -> Lookup:
        """This lookup, preferring the folder the TABLE's name names among files of one name (Kaggle's
        `trainLabels.csv` beside `train/1.png` and `test/1.png`)."""
        found = copy.copy(self)
        found.table = table.stem.casefold()
        return found

    def find(self, value: str, base: PurePosixPath) -> tuple[PurePosixPath, PurePosixPath] | None:
        """(where the image is stored, relative to BASE; the entry's path) for an index VALUE; None when no file
        or several match."""
        rel = PurePosixPath(value)
        tries = [base / rel, rel] if base.parts else [rel]
        for path in tries:
            if path in self.paths:
                return rel, path
        for path in tries:  # an index written on Windows, whose file names ignore case
            if len(found := self._folded.get(str(path).casefold(), [])) == 1:
                return rel, found[0]
        for k in range(1, len(rel.parts)):  # a path on the machine that wrote the table: `C:\data\cat\1.jpg`
            tail = PurePosixPath(*rel.parts[k:])
            for path in [base / tail, tail] if base.parts else [tail]:
                if path in self.paths:
                    return tail, path
        if len(found := self._by_name(rel)) == 1:
            path = found[0]
            return (path.relative_to(base) if base in path.parents else path), path
        return None

    def _by_name(self, rel: PurePosixPath) -> list[PurePosixPath]:
        """The images named as REL is: by file name when it has an image's extension, else by file name without;
        of several, those in a folder the table's name names, if any."""
        by = self._names if rel.suffix.lower() in image_formats.SUFFIXES else self._stems
        found = by.get(rel.name.casefold(), [])
        if len(found) > 1 and self.table:
            named = [p for p in found if any(len(f) > 2 and f.casefold() in self.table for f in p.parent.parts)]
            return named or found
        return found

    def not_found(self, value: str) -> str:
        """Why VALUE finds no image: several are named so (`a/x.jpg, b/x.jpg`), it is a web address, or none is."""
        found = self._by_name(PurePosixPath(value))
        if len(found) > 1:
            return f"which names {len(found)} files ({', '.join(str(p) for p in found[:3])}); give its path"
        if WEB_ADDRESS.match(value):
            return "a web address: trainings have no network, so put the images in the archive and name them by path"
        return "which is not in the archive"

    def names_images(self, values: list[object], base: PurePosixPath, every: bool) -> bool:
        """True when the first non-null VALUES of a column each (or, not EVERY, any of them) find an image."""
        sample = [index_path(v) for v in values if v is not None][:PROBE_ROWS]
        found = [self._names_image(v, base) for v in sample]
        return bool(sample) and (all(found) if every else any(found))

    def _names_image(self, value: str, base: PurePosixPath) -> bool:
        """True when VALUE finds an image, or names several (then reading the table says which)."""
        if found := self.find(value, base):
            return found[1].suffix.lower() in image_formats.SUFFIXES
        return len(self._by_name(PurePosixPath(value))) > 1


def image_column(table: pa.Table, lookup: Lookup, base: PurePosixPath, known: bool) -> str | None:
    """The column of TABLE that names images. When it is KNOWN to (an index.csv, the table named as the labels),
    the first column whose first value is an image file path, or else whose first values find any image; when it is
    not, the first whose first values all find one."""
    if known and table.num_rows:
        for column in table.column_names:
            if PurePosixPath(str(table[column][0])).suffix.lower() in image_formats.SUFFIXES:
                return column
    for column in table.column_names:
        if lookup.names_images(table[column].slice(0, 4 * PROBE_ROWS).to_pylist(), base, every=not known):
            return column
    return None


def resolve(
    table: pa.Table, column: str, lookup: Lookup, base: PurePosixPath, label: str
) -> tuple[pa.Table, str, dict[PurePosixPath, zipfile.ZipInfo]]:
    """(TABLE with its image paths, the column holding them, {stored path: entry}) for the images COLUMN names
    relative to BASE; a column of file names or ids found elsewhere gains an `image` column of their paths beside
    it. 422 on a value outside the archive, missing or matching several files (LABEL names the table)."""
    values = [None if v is None else index_path(v) for v in table[column].to_pylist()]
    wanted: dict[PurePosixPath, zipfile.ZipInfo] = {}  # an entry named by many rows is extracted once
    stored: list[str] = []
    for value in values:
        rel = PurePosixPath(str(value))
        if ".." in rel.parts:  # an absolute path is looked up by its tail, inside the archive only
            raise invalid(f"{label} path {value!r} leaves the archive.", code="bad_archive")
        found = lookup.find(str(value), base)
        if found is None:
            raise invalid(f"{label} names {value!r}, {lookup.not_found(str(value))}.", code="bad_archive")
        wanted[found[0]] = lookup.paths[found[1]]
        stored.append(str(found[0]))
    if any(s != str(PurePosixPath(str(v))) for s, v in zip(stored, values, strict=True)):
        name = next(n for n in ("image", "image_path", "image_file") if n not in table.column_names)
        return table.append_column(name, pa.array(stored, pa.string())), name, wanted
    if values != table[column].to_pylist():  # `images\\1.jpg` as Windows writes it: the path it names
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(values, pa.string()))
    return table, column, wanted


def with_folders(table: pa.Table, column: str) -> pa.Table:
    """TABLE with a `folder` column, the name of the folder holding each image COLUMN names, when they lie in two
    folders or more: a labels file beside class folders (`cat/`, `dog/`) keeps what those folders said."""
    folders = [None if v is None else PurePosixPath(v).parent.name or None for v in table[column].to_pylist()]
    if len({f for f in folders if f}) < 2 or "folder" in table.column_names:
        return table
    return table.append_column("folder", pa.array(folders, pa.string()))


def labels_files(paths: dict[PurePosixPath, zipfile.ZipInfo], member: str | None) -> list[PurePosixPath]:
    """The tables that may label an archive's images, shallowest first: the one MEMBER names (its path, or its name
    when unique), or else each `.csv`/`.tsv` but Kaggle's `sample_submission.csv` (it names the test images)."""
    tables = sorted((p for p in paths if p.suffix.lower() in LABELS_SUFFIXES), key=lambda p: (len(p.parts), str(p)))
    if member:
        wanted = archive_members.wanted(member)
        named = archive_members.named(tables, wanted)
        if len(named) != 1:
            listed = ", ".join(str(p) for p in tables[:20]) or "none"
            raise invalid(f"The archive holds no single table {wanted!r}; its tables: {listed}.", code="bad_member")
        return named
    return [p for p in tables if not archive_members.is_template(p)][:MAX_LABELS_FILES]
