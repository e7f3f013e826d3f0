"""Tar archives (`flower_photos.tgz`, as TensorFlow's and keras.io's tutorials ship their photos) rewritten as a ZIP
of the same files, streamed and bounded, so that an image archive or a packed table is then read as from a ZIP."""

from __future__ import annotations

import lzma
import tarfile
import time
import zipfile
import zlib
from pathlib import Path

from server.errors import invalid
from server.services import image_zip

SUFFIX = ".tar"  # what datasets.suffix_of answers for every name below
NAMES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)
_ZIP_EPOCH = 315_532_800  # 1980-01-01: a ZIP cannot date a file earlier


def is_tar(filename: str) -> bool:
    """True when FILENAME is named as a tar archive, compressed or not."""
    return (filename or "").lower().endswith(NAMES)


def as_zip(upload: Path, dest: Path, budget: image_zip.Budget) -> None:
    """Write the files of the tar archive UPLOAD (gzip, bz2 or xz compressed, or not) to the ZIP DEST, stored, each
    block counted against BUDGET; 422 `bad_archive` for a link, a device, too many entries or damaged data."""
    count = 0
    try:
        with (
            tarfile.open(upload, mode="r|*") as tar,
            zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED, allowZip64=True) as out,
        ):
            for member in tar:  # in stream order: a compressed tar is read once, front to back
                if member.isdir():
                    continue
                name = _name(member)
                if not member.isfile():
                    kind = "a link" if member.issym() or member.islnk() else "not a regular file"
                    raise invalid(f"Tar entry {name!r} is {kind}; archives may hold only files.", code="bad_archive")
                count += 1
                if count > image_zip.MAX_ENTRIES:
                    raise invalid(
                        f"The archive has more than {image_zip.MAX_ENTRIES} entries.", code="too_many_entries"
                    )
                _copy(tar, member, name, out, budget)
    except _READ_ERRORS as exc:
        raise image_zip.unpack_error(exc, "Unpacking the archive", "read as a tar archive") from None


def _name(member: tarfile.TarInfo) -> str:
    """The entry's path as a ZIP names it: `./` left out (`tar -czf photos.tgz ./photos`), bytes that are not
    UTF-8 (tarfile keeps them as surrogates) replaced."""
    name = member.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    while name.startswith("./"):
        name = name[2:]
    return name


def _copy(
    tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, out: zipfile.ZipFile, budget: image_zip.Budget
) -> None:
    """MEMBER's bytes into OUT as entry NAME, a block at a time."""
    info = zipfile.ZipInfo(name, time.gmtime(max(member.mtime, _ZIP_EPOCH))[:6])
    info.file_size = member.size
    src = tar.extractfile(member)
    if src is None:  # a regular file always has data; tarfile says None only for others
        return
    with src, out.open(info, "w", force_zip64=member.size >= zipfile.ZIP64_LIMIT) as dst:
        budget.copy(src, dst)
