"""Safe ingestion of image ZIP archives: index.csv or <class>/<file> folders, no traversal, no bombs."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.csv as pacsv
from PIL import Image

from server.errors import ApiError, invalid

MAX_ENTRIES = 200_000
MAX_DIRECTORY_BYTES = 64 << 20  # the central directory of an archive of MAX_ENTRIES entries with long names
MAX_INDEX_BYTES = 256 << 20
MAX_TOTAL_BYTES = 20 << 30
MAX_RATIO = 200
MAX_PIXELS = 40_000_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _safe_name(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise invalid(f"ZIP entry {name!r} is a symbolic link; archives may hold only files.", code="bad_archive")
    if "\\" in name or "\x00" in name or any(ord(c) < 32 for c in name):
        raise invalid(f"ZIP entry {name!r} has a backslash or control character in its name.", code="bad_archive")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise invalid(f"ZIP entry {name!r} has an absolute path; use relative paths.", code="bad_archive")
    if ".." in path.parts:
        raise invalid(f"ZIP entry {name!r} climbs out of the archive with '..'.", code="bad_archive")
    return path


def _too_many_pixels(name: str, size: tuple[int, int] | None) -> ApiError:
    declared = f"{size[0]}x{size[1]} pixels" if size else f"far more than {MAX_PIXELS} pixels"
    return invalid(f"Image {name!r} declares {declared}; the limit is {MAX_PIXELS} pixels.", code="image_too_large")


def _check_image(data: bytes, name: str) -> None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except Image.DecompressionBombError:  # Pillow's own guard, for sizes far above ours
        raise _too_many_pixels(name, None) from None
    except Exception:
        raise invalid(f"ZIP entry {name!r} is not a readable image.", code="bad_image") from None
    if w * h > MAX_PIXELS:
        raise _too_many_pixels(name, (w, h))


def _check_directory(upload: Path) -> None:
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


def ingest(upload: Path, dest: Path) -> tuple[pa.Table, set[str]]:
    """Extract the image archive UPLOAD into DEST and return its table and the names of its image columns."""
    _check_directory(upload)
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ApiError(415, "unsupported_file", "This .zip file is not a readable ZIP archive.") from None
    with archive:
        return _ingest(archive, dest)


# What reading a damaged, encrypted or oddly compressed entry raises.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError, OSError)


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """The bytes of entry INFO, at most its declared size (+1 to notice a lie); 422 when it cannot be read."""
    try:
        with archive.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except _READ_ERRORS as exc:
        raise invalid(
            f"ZIP entry {name!r} cannot be read ({type(exc).__name__}: {str(exc)[:150]}).", code="bad_archive"
        ) from None
    if len(data) > info.file_size:
        raise invalid(f"ZIP entry {name!r} is larger than it declares.", code="bad_archive")
    return data


def _ingest(archive: zipfile.ZipFile, dest: Path) -> tuple[pa.Table, set[str]]:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_ENTRIES:
        raise invalid(
            f"The archive has {len(infos)} entries; at most {MAX_ENTRIES} are allowed.", code="too_many_entries"
        )
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_TOTAL_BYTES or total / packed > MAX_RATIO and total > (64 << 20):
        raise invalid("The archive expands to too much data (zip bomb guard).", code="bad_archive")
    paths = {_safe_name(i): i for i in infos}
    paths = {p: i for p, i in paths.items() if not p.name.startswith(".") and "__MACOSX" not in p.parts}
    index = [p for p in paths if p.name == "index.csv"]
    dest.mkdir(parents=True, exist_ok=True)
    written = 0
    if index:
        root = min(index, key=lambda p: len(p.parts))
        if paths[root].file_size > MAX_INDEX_BYTES:
            raise invalid(f"index.csv is larger than {MAX_INDEX_BYTES >> 20} MB.", code="bad_archive")
        try:
            table = pacsv.read_csv(io.BytesIO(_read_entry(archive, paths[root], str(root))))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise invalid(f"index.csv could not be parsed: {msg}", code="bad_archive") from None
        base = root.parent
        image_col = next(
            (
                c
                for c in table.column_names
                if table.num_rows and PurePosixPath(str(table[c][0])).suffix.lower() in IMAGE_SUFFIXES
            ),
            None,
        )
        if image_col is None:
            raise invalid("index.csv has no column of image file paths (.png, .jpg, ...).", code="bad_archive")
        for value in table[image_col].to_pylist():
            rel = PurePosixPath(str(value))
            if rel.is_absolute() or ".." in rel.parts:
                raise invalid(f"index.csv path {value!r} leaves the archive.", code="bad_archive")
            info = paths.get(base / rel)
            if info is None:
                raise invalid(f"index.csv names {value!r}, which is not in the archive.", code="bad_archive")
            written += _extract(archive, info, base / rel, dest, rel)
    else:
        rows: list[tuple[str, str]] = []
        for p, info in sorted(paths.items(), key=lambda kv: str(kv[0])):
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if len(p.parts) < 2:
                raise invalid(
                    f"Image {str(p)!r} is not in a class folder; use <class>/<file> or an index.csv.",
                    code="bad_archive",
                )
            rel = PurePosixPath(*p.parts[-2:])
            written += _extract(archive, info, p, dest, rel)
            rows.append((str(rel), p.parts[-2]))
        if not rows:
            raise invalid("The archive holds no images (.png, .jpg, ...) and no index.csv.", code="empty_dataset")
        table = pa.table({"image": [r[0] for r in rows], "label": [r[1] for r in rows]})
        image_col = "image"
    if written > MAX_TOTAL_BYTES:
        raise invalid("The archive expands to too much data.", code="bad_archive")
    return table, {image_col}


def _extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, src: PurePosixPath, dest: Path, rel: PurePosixPath
) -> int:
    target = (dest / Path(*rel.parts)).resolve()
    if dest.resolve() not in target.parents:
        raise invalid(f"ZIP entry {str(src)!r} would land outside the dataset folder.", code="bad_archive")
    data = _read_entry(archive, info, str(src))  # capped: the declared size of an entry can lie
    _check_image(data, str(src))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return len(data)
