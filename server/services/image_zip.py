"""Safe ingestion of image ZIP archives: index.csv or <class>/<file> folders, no traversal, no bombs."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.csv as pacsv
from PIL import Image

from server.errors import ApiError, invalid

MAX_ENTRIES = 200_000
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


def _check_image(data: bytes, name: str) -> None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except Exception:
        raise invalid(f"ZIP entry {name!r} is not a readable image.", code="bad_image") from None
    if w * h > MAX_PIXELS:
        raise invalid(
            f"Image {name!r} declares {w}x{h} pixels; the limit is {MAX_PIXELS} pixels.", code="image_too_large"
        )


def ingest(upload: Path, dest: Path) -> tuple[pa.Table, set[str]]:
    """Extract the image archive UPLOAD into DEST and return its table and the names of its image columns."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError):
        raise ApiError(415, "unsupported_file", "This .zip file is not a readable ZIP archive.") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_ENTRIES:
            raise invalid(
                f"The archive has {len(infos)} entries; at most {MAX_ENTRIES} are allowed.", code="bad_archive"
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
            table = pacsv.read_csv(io.BytesIO(archive.read(paths[root])))
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
    # Read with a cap: the declared size of an entry can lie.
    with archive.open(info) as fh:
        data = fh.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise invalid(f"ZIP entry {str(src)!r} is larger than it declares.", code="bad_archive")
    _check_image(data, str(src))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return len(data)
