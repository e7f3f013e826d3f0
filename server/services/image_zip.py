"""Safe ingestion of image ZIP archives: index.csv or <class>/<file> folders, no traversal, no bombs."""

from __future__ import annotations

import os
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa

from core import image_formats
from server.errors import ApiError, insufficient_storage, invalid, is_disk_full
from server.services import csv_source, image_checks, image_index, tables, zip_names

MAX_ENTRIES = 200_000
MAX_DIRECTORY_BYTES = 64 << 20  # the central directory of an archive of MAX_ENTRIES entries with long names
MAX_INDEX_BYTES = 256 << 20
MAX_TOTAL_BYTES = 20 << 30
MAX_RATIO = 200
MAX_PIXELS = image_checks.MAX_PIXELS
UTF8_FLAG = 0x800  # general purpose bit 11: the entry's name is UTF-8
CHUNK = 1 << 20  # entries are copied to disk in blocks of this size: memory does not grow with an entry
IMAGE_SUFFIXES = image_formats.SUFFIXES


def _safe_name(info: zipfile.ZipInfo) -> PurePosixPath:
    """The entry's path, its backslashes taken for folder separators: Windows PowerShell 5.1's Compress-Archive and
    older Windows tools write `cats\\1.jpg` (refused before, as no other archiver reads them otherwise)."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise invalid(f"Archive entry {name!r} is a symbolic link; archives may hold only files.", code="bad_archive")
    if "\x00" in name or any(ord(c) < 32 for c in name):
        raise invalid(f"Archive entry {name!r} has a control character in its name.", code="bad_archive")
    name = image_index.as_posix(name)
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise invalid(f"Archive entry {name!r} has an absolute path; use relative paths.", code="bad_archive")
    if ".." in path.parts:
        raise invalid(f"Archive entry {name!r} climbs out of the archive with '..'.", code="bad_archive")
    return path


def check_directory(upload: Path) -> None:
    """Refuse an archive that declares too many entries or a huge central directory before parsing it.

    zipfile builds an object per entry of the central directory, so this is read from the end record first.
    """
    try:
        with open(upload, "rb") as fh:
            end = zipfile._EndRecData(fh)  # type: ignore[attr-defined]  # stable since Python 2
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error):
        end = None
    if not end:
        raise ApiError(415, "unsupported_file", "This .zip file is not a readable ZIP archive.")
    entries, directory_size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    if entries > MAX_ENTRIES:
        raise invalid(
            f"The archive declares {entries} entries; at most {MAX_ENTRIES} are allowed.", code="too_many_entries"
        )
    if directory_size > MAX_DIRECTORY_BYTES:
        raise invalid(
            f"The archive's directory is {directory_size >> 20} MB; at most {MAX_DIRECTORY_BYTES >> 20} MB is allowed.",
            code="too_many_entries",
        )


@dataclass(frozen=True)
class Ingested:
    """An extracted image archive: its table, its image columns, and what a dataset's source says of the images
    left out because they cannot be read (None when none was)."""

    table: pa.Table
    image_columns: set[str]
    left_out: dict[str, Any] | None


def ingest(
    upload: Path, dest: Path, max_bytes: int = MAX_TOTAL_BYTES, reserve: int = 0, member: str | None = None
) -> Ingested:
    """Extract the image archive UPLOAD into DEST: its table, the names of its image columns, the images left out.
    MEMBER names the table that labels the images, when the archive holds several.

    At most MAX_BYTES are written, and never more than the disk's free space less RESERVE bytes.
    """
    archive = open_archive(upload)
    if archive is None:
        raise ApiError(415, "unsupported_file", "This .zip file is not a readable ZIP archive.")
    dest.mkdir(parents=True, exist_ok=True)
    budget = Budget.on_disk_of(dest, max_bytes, reserve)
    with archive, image_checks.Checks() as checks:
        return _ingest(_Extraction(archive, dest, budget, checks), member)


def open_archive(upload: Path) -> zipfile.ZipFile | None:
    """UPLOAD opened as a ZIP, its directory's size checked first, names in UTF-8 read so even without the flag
    that says so, and others in the Windows code page they were written in (zip_names); None when it is no ZIP."""
    check_directory(upload)
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    oem: list[zipfile.ZipInfo] = []
    for info in archive.infolist():
        if not info.flag_bits & UTF8_FLAG and not info.filename.isascii():
            # Linux's zip, Python's and other tools write UTF-8 names without the flag: read as the default CP437
            # they were mojibake (`Ã¤pfel` for `äpfel`). Bytes that are not UTF-8 are a Windows' OEM code page.
            try:
                info.filename = info.filename.encode(zip_names.OEM).decode("utf-8")
            except UnicodeError:
                oem.append(info)
    if oem and (found := zip_names.code_page([i.filename.encode(zip_names.OEM) for i in oem])) != zip_names.OEM:
        for info in oem:
            info.filename = info.filename.encode(zip_names.OEM).decode(found)
    return archive


class Budget:
    """The bytes one upload may still write: the setting's limit and the disk's free space, counted as written."""

    def __init__(self, limit: int, free: int):
        self.limit = limit
        self.free = free
        self.written = 0

    @classmethod
    def on_disk_of(cls, folder: Path, limit: int, reserve: int) -> Budget:
        """LIMIT bytes, and never the last RESERVE bytes of the disk FOLDER is on."""
        return cls(limit, shutil.disk_usage(folder).free - reserve)

    def check_planned(self, planned: int) -> None:
        """Refuse before writing when the entries to extract declare more than may be written."""
        if planned > self.limit:
            raise _too_much(self.limit)
        if planned > self.free:
            raise insufficient_storage("Extracting the archive")

    def copy(self, src: Any, dst: Any) -> None:
        """Copy the binary stream SRC to DST in CHUNK blocks, each counted before it is written."""
        while block := src.read(CHUNK):
            self.add(len(block))
            dst.write(block)

    def add(self, count: int) -> None:
        """Count COUNT more bytes written; refuse as soon as a bound is passed."""
        self.written += count
        if self.written > self.limit:
            raise _too_much(self.limit)
        if self.written > self.free:
            raise insufficient_storage("Extracting the archive")


def unpack_error(exc: BaseException, doing: str, read_as: str) -> ApiError:
    """What EXC, raised while DOING something to an upload read as READ_AS, answers: 507 for a full disk, else a
    422 `bad_archive` quoting it."""
    if is_disk_full(exc):
        return insufficient_storage(doing)
    return invalid(f"The file could not be {read_as} ({type(exc).__name__}: {str(exc)[:200]}).", code="bad_archive")


def _too_much(limit: int) -> ApiError:
    return invalid(
        f"The archive expands to more than {limit >> 20} MB (FITSTUDIO_MAX_ZIP_EXPANDED_MB).", code="bad_archive"
    )


# What reading a damaged, encrypted or oddly compressed entry raises.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError, OSError)


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """The bytes of entry INFO, at most its declared size (+1 to notice a lie); 422 when it cannot be read."""
    try:
        with archive.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except _READ_ERRORS as exc:
        raise _unreadable(name, exc) from None
    if len(data) > info.file_size:
        raise invalid(f"Archive entry {name!r} is larger than it declares.", code="bad_archive")
    return data


def _unreadable(name: str, exc: BaseException) -> ApiError:
    return invalid(
        f"Archive entry {name!r} cannot be read ({type(exc).__name__}: {str(exc)[:150]}).", code="bad_archive"
    )


def copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, target: Path, budget: Budget) -> int:
    """Stream entry INFO into TARGET in CHUNK blocks, counting each against BUDGET and its declared size."""
    size = 0
    try:
        with archive.open(info) as src, open(target, "wb") as out:
            while block := src.read(CHUNK):
                size += len(block)
                if size > info.file_size:
                    raise invalid(f"Archive entry {name!r} is larger than it declares.", code="bad_archive")
                budget.add(len(block))
                out.write(block)
    except _READ_ERRORS as exc:
        if is_disk_full(exc):
            raise insufficient_storage("Extracting the archive") from None
        raise _unreadable(name, exc) from None
    return size


@dataclass(frozen=True)
class _Extraction:
    """Where the entries of one upload go: the open archive, the dataset folder, the bytes still allowed and the
    checks of the images extracted."""

    archive: zipfile.ZipFile
    dest: Path
    budget: Budget
    checks: image_checks.Checks


def _ingest(into: _Extraction, member: str | None) -> Ingested:
    """Extract the images named by an index.csv, or else by another table (_labels), or else those in
    <class>/<file> folders; rows whose image cannot be read are left out (all of them: a 422)."""
    paths = entries(into.archive)
    index = [p for p in paths if p.name.lower() == "index.csv"]  # Windows names it Index.csv as readily
    about: dict[str, Any] = {}
    candidates = [] if index and not member else image_index.labels_files(paths, member)
    lookup = image_index.Lookup(paths) if index or candidates else None  # built once, and not for class folders
    if index and not member and lookup is not None:
        root = min(index, key=lambda p: len(p.parts))  # the shallowest index.csv describes the archive
        table, image_col = _from_index(into, lookup, root, _read_index(into.archive, paths[root], root))
    elif lookup is not None and (labels := _labels(into.archive, paths, lookup, candidates, bool(member))):
        table, image_col = _from_index(into, lookup, *labels)
        table, about = image_index.with_folders(table, image_col), {"labels_file": str(labels[0])}
    else:
        table, image_col = _from_class_folders(into, paths)
    failed = into.checks.failed()
    if failed:
        stored = [None if v is None else str(PurePosixPath(v)) for v in table[image_col].to_pylist()]
        table = table.filter(pa.array([v not in failed for v in stored]))
        image_checks.refuse_when_none_readable(table.num_rows, failed)
    return Ingested(table, {image_col}, {**about, **(image_checks.left_out_source(failed) or {})} or None)


def _labels(
    archive: zipfile.ZipFile,
    paths: dict[PurePosixPath, zipfile.ZipInfo],
    lookup: image_index.Lookup,
    candidates: list[PurePosixPath],
    asked: bool,
) -> tuple[PurePosixPath, pa.Table] | None:
    """The table of CANDIDATES (image_index.labels_files) that names the archive's images (Kaggle's labels.csv,
    train.csv), and its path: the one the `member` field names when ASKED, or the only one; 422 `several_tables`
    when more than one does."""
    found = []
    for path in candidates:
        try:
            table = _read_index(archive, paths[path], path)
        except ApiError as exc:
            if asked or exc.status >= 500:  # the table asked for, or a full disk
                raise
            continue  # a table that is no labels file (a README.csv of another shape) is not one
        if asked or image_index.image_column(table, lookup.for_table(path), path.parent, known=False):
            found.append((path, table))
    if len(found) > 1:
        listed = ", ".join(str(p) for p, _ in found)
        raise invalid(
            f"The archive holds {len(found)} tables that name its images ({listed}); give the one that labels them "
            "in the `member` field.",
            code="several_tables",
        )
    return found[0] if found else None


def entries(archive: zipfile.ZipFile) -> dict[PurePosixPath, zipfile.ZipInfo]:
    """The archive's files by safe path, hidden files and macOS metadata left out; 422 on a bomb."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_ENTRIES:
        raise invalid(
            f"The archive has {len(infos)} entries; at most {MAX_ENTRIES} are allowed.", code="too_many_entries"
        )
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total / packed > MAX_RATIO and total > (64 << 20):
        raise invalid("The archive expands to too much data (zip bomb guard).", code="bad_archive")
    paths = {_safe_name(i): i for i in infos}
    return {p: i for p, i in paths.items() if not p.name.startswith(".") and "__MACOSX" not in p.parts}


def _from_index(
    into: _Extraction, archive_lookup: image_index.Lookup, root: PurePosixPath, table: pa.Table
) -> tuple[pa.Table, str]:
    """Extract the images TABLE, read from ROOT, names; return it (its image paths) and its image column."""
    lookup = archive_lookup.for_table(root)
    image_col = image_index.image_column(table, lookup, root.parent, known=True)
    if image_col is None:
        raise invalid(
            f"{root.name} has no column of image file paths (.png, .jpg, ...), names or ids.", code="bad_archive"
        )
    table, image_col, wanted = image_index.resolve(table, image_col, lookup, root.parent, root.name)
    into.budget.check_planned(sum(i.file_size for i in wanted.values()))
    for rel, info in wanted.items():
        _extract(into, info, PurePosixPath(image_index.as_posix(info.filename)), rel)
    return table, image_col


def _read_index(archive: zipfile.ZipFile, info: zipfile.ZipInfo, root: PurePosixPath) -> pa.Table:
    """The table of entry INFO at ROOT (an index.csv or labels file), read as an uploaded CSV is (an index.csv saved
    by Excel in Europe has semicolons and Windows-1252 letters); 422 when it is too large or cannot be parsed."""
    if info.file_size > MAX_INDEX_BYTES:
        raise invalid(f"{root.name} is larger than {MAX_INDEX_BYTES >> 20} MB.", code="bad_archive")
    with tempfile.TemporaryDirectory(prefix="fitstudio-index-") as scratch:
        raw = Path(scratch) / "index.csv"
        raw.write_bytes(_read_entry(archive, info, str(root)))
        try:
            with csv_source.read_as_utf8(raw, {}) as (source, text):
                tables.check_csv(text, source.delimiter)
                return tables.read_csv(text, source)
        except ApiError as exc:
            if exc.status >= 500:  # a full disk stays itself
                raise
            raise invalid(f"{root.name} could not be read: {exc.detail}", code="bad_archive") from None


def _from_class_folders(into: _Extraction, paths: dict[PurePosixPath, zipfile.ZipInfo]) -> tuple[pa.Table, str]:
    """Extract every image of a <class>/<file> layout; return a table of image path and label."""
    rows: list[tuple[str, str]] = []
    images = [(p, i) for p, i in sorted(paths.items(), key=lambda kv: str(kv[0])) if p.suffix.lower() in IMAGE_SUFFIXES]
    into.budget.check_planned(sum(i.file_size for _, i in images))
    # A folder around every class folder (a zipped "photos/") is left out of the paths; any other is kept, so that
    # train/cat/1.jpg and val/cat/1.jpg stay two images (cut to cat/1.jpg, the second overwrote the first).
    around = len(os.path.commonprefix([p.parts[:-2] for p, _ in images])) if images else 0
    for p, info in images:
        if len(p.parts) < 2:
            raise invalid(
                f"Image {str(p)!r} is not in a class folder; use <class>/<file> or an index.csv.",
                code="bad_archive",
            )
        rel = PurePosixPath(*p.parts[around:])
        _extract(into, info, p, rel)
        rows.append((str(rel), p.parts[-2]))
    if not rows:
        raise invalid(
            "The archive holds no images (.png, .jpg, ...), no index.csv and no table (.csv, .parquet).",
            code="empty_dataset",
        )
    return pa.table({"image": [r[0] for r in rows], "label": [r[1] for r in rows]}), "image"


def _extract(into: _Extraction, info: zipfile.ZipInfo, src: PurePosixPath, rel: PurePosixPath) -> int:
    """Stream entry INFO to DEST/REL (bounded by the budget), then have it checked (image_checks)."""
    dest = into.dest
    target = (dest / Path(*rel.parts)).resolve()
    if dest.resolve() not in target.parents:
        raise invalid(f"Archive entry {str(src)!r} would land outside the dataset folder.", code="bad_archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        # capped: the declared size of an entry can lie
        size = copy_entry(into.archive, info, str(src), tmp, into.budget)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    into.checks.submit(target, str(rel), str(src))
    return size
