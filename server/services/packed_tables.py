"""Tables that come packed: a CSV or Parquet file compressed on its own (`train.csv.gz`, `.bz2`, `.xz`, `.zst`)
or alone in a ZIP (Kaggle's downloads, Windows' "Send to > Compressed folder"). Each is unpacked beside the
upload, streamed and bounded as an image archive's extraction is, then read as the file it packs."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any

import pyarrow as pa

from server.errors import ApiError, invalid
from server.services import (
    archive_members,
    csv_source,
    image_zip,
    json_tables,
    spreadsheets,
    stat_files,
    tar_archives,
)

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
TABLE_SUFFIXES = (*csv_source.DELIMITED, *json_tables.SUFFIXES, *spreadsheets.SUFFIXES, *stat_files.SUFFIXES)
TABLE_SUFFIXES += (".parquet",)
ARCHIVE_NAMES = (".zip", *tar_archives.NAMES, ".7z", ".rar")  # archives inside an archive
MEMBER_FIELD = "member"  # the multipart field naming the table to read in an archive that holds several
# What reading damaged or truncated compressed data raises (gzip's BadGzipFile and bz2's errors are OSErrors).
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, pa.ArrowException)


def packed_suffix(filename: str) -> str | None:
    """`.csv.gz` and the like for a compressed table file FILENAME; None for any other name."""
    suffixes = PurePath((filename or "").lower()).suffixes
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSIONS and suffixes[-2] in TABLE_SUFFIXES:
        return "".join(suffixes[-2:])
    return None


def _open(path: Path, compression: str) -> IO[bytes] | Any:
    """PATH's decompressed bytes, as a stream read in blocks."""
    if compression == "zstd":
        return pa.CompressedInputStream(pa.OSFile(str(path)), "zstd")
    return {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[compression](path, "rb")


def _decompress(upload: Path, compression: str, dest: Path, budget: image_zip.Budget) -> None:
    """Write UPLOAD's decompressed bytes to DEST, each block counted against BUDGET; 422 when they are damaged."""
    try:
        with contextlib.closing(_open(upload, compression)) as src, open(dest, "wb") as out:
            budget.copy(src, out)
    except _READ_ERRORS as exc:
        raise image_zip.unpack_error(exc, "Decompressing the upload", f"decompressed as {compression}") from None


def head(upload: Path, compression: str, limit: int) -> bytes:
    """Up to LIMIT decompressed bytes of the start of UPLOAD, which may be cut short (a preview sends the file's
    first MiBs only): what decompresses before the cut."""
    got = bytearray()
    try:
        with contextlib.closing(_open(upload, compression)) as src:
            while len(got) < limit and (block := src.read(min(image_zip.CHUNK, limit - len(got)))):
                got += block
    except _READ_ERRORS as exc:
        if not got:
            raise invalid(f"The file is not {compression} data ({type(exc).__name__}).", code="bad_archive") from None
    return bytes(got)


def _member(tables: list[PurePosixPath], fields: dict[str, str], others: list[PurePosixPath]) -> PurePosixPath:
    """The table to read: the only one (Kaggle's submission templates aside), or the one FIELDS' `member` names (its
    path, or its name when unique); OTHERS, the archive's other files, are named when only a template is there."""
    wanted = archive_members.wanted(fields.get(MEMBER_FIELD))
    if not wanted:
        tables = [p for p in tables if not archive_members.is_template(p)] or _templates_only(tables, others)
    if not wanted and len(tables) == 1:
        return tables[0]
    named = archive_members.named(tables, wanted)
    if wanted and len(named) == 1:
        return named[0]
    listed = ", ".join(str(p) for p in tables[:20]) + (f" and {len(tables) - 20} more" if len(tables) > 20 else "")
    if wanted:
        raise invalid(f"The archive holds no single table {wanted!r}; it holds {listed}.", code="bad_member")
    raise invalid(
        f"The archive holds {len(tables)} tables ({listed}); give the one to read in the `member` field "
        "(or upload it by itself).",
        code="several_tables",
    )


def _templates_only(tables: list[PurePosixPath], others: list[PurePosixPath]) -> list[PurePosixPath]:
    """422: the archive's tables are all submission templates (Kaggle's `sampleSubmission.csv` beside `train.zip`)."""
    inner = [str(p) for p in others if p.name.lower().endswith(ARCHIVE_NAMES)]
    nested = (
        f"; its data is in archives inside it ({', '.join(inner[:5])}), which fitstudio does not open: unpack them "
        "and upload what they hold"
        if inner
        else ""
    )
    raise invalid(
        f"The archive's only table, {tables[0]}, is a submission template, not data{nested}. To read it all the "
        "same, name it in the `member` field.",
        code="submission_only",
    )


@contextlib.contextmanager
def unpacked(
    upload: Path, suffix: str, fields: dict[str, str], max_bytes: int, reserve: int
) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """UPLOAD (its name's SUFFIX, `.csv.gz` for a compressed table) as the table file it packs, in a copy beside
    it removed afterwards, with that file's suffix and what was unpacked (`compression`, or `archive_member`);
    UPLOAD itself and SUFFIX for any other file, an image archive too (a tar archive is first rewritten as a ZIP:
    that ZIP and `.zip`). At most MAX_BYTES are written, and never the disk's last RESERVE bytes."""
    dest = upload.with_name(upload.name + ".unpacked")
    zipped = upload.with_name(upload.name + ".zip")
    budget = image_zip.Budget.on_disk_of(upload.parent, max_bytes, reserve)
    try:
        if suffix == tar_archives.SUFFIX:  # read as the ZIP of the same files
            tar_archives.as_zip(upload, zipped, budget)
            upload, suffix = zipped, ".zip"
        outer = PurePath("f" + suffix).suffix
        if outer in COMPRESSIONS:
            _decompress(upload, COMPRESSIONS[outer], dest, budget)
            yield dest, suffix.removesuffix(outer), {"compression": COMPRESSIONS[outer]}
        elif suffix == ".zip" and (member := _extract_table(upload, fields, dest, budget)):
            yield dest, member.suffix.lower(), {"archive_member": str(member)}
        else:
            yield upload, suffix, {}
    finally:
        dest.unlink(missing_ok=True)
        zipped.unlink(missing_ok=True)


def _extract_table(upload: Path, fields: dict[str, str], dest: Path, budget: image_zip.Budget) -> PurePosixPath | None:
    """Extract to DEST the table of the ZIP UPLOAD that holds tables and no images (_member), and say which;
    None for any other archive (image_zip reads it, or says what is wrong with it)."""
    archive = image_zip.open_archive(upload)
    if archive is None:
        return None
    with archive:
        paths = image_zip.entries(archive)
        if any(p.suffix.lower() in image_zip.IMAGE_SUFFIXES or p.name.lower() == "index.csv" for p in paths):
            return None
        tables = sorted(p for p in paths if p.suffix.lower() in TABLE_SUFFIXES)
        if not tables:
            return None
        member = _member(tables, fields, [p for p in paths if p not in tables])
        image_zip.copy_entry(archive, paths[member], str(member), dest, budget)
    return member


def refused(filename: str) -> ApiError | None:
    """The 415 for a compressed file that packs no table (`model.h5.gz`, `photos.tar.gz`); None otherwise."""
    suffixes = PurePath((filename or "").lower()).suffixes
    if suffixes and suffixes[-1] in COMPRESSIONS and not packed_suffix(filename):
        return ApiError(
            415,
            "unsupported_file",
            f"File {filename!r} is compressed, but not a compressed {csv_source.DELIMITED_NAMES}, .json or .parquet "
            "file; fitstudio reads those (`train.csv.gz`), and images in a .zip.",
        )
    return None
