"""Model files in the artifact store: their SHA-256 sidecars, verification before use, and their dataset files."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
import zipfile
from pathlib import Path

from server.errors import ApiError
from server.models import Dataset
from server.services import datasets
from server.settings import Settings

SUFFIX = ".sha256"
CHUNK = 1 << 20
# Files verified since they last changed: (path, size, mtime_ns, inode) -> digest; a rewrite changes the key.
_verified: dict[tuple[str, int, int, int], str] = {}
_verified_lock = threading.Lock()
MAX_REMEMBERED = 4096


def files_root(settings: Settings, dataset: Dataset | None) -> Path | None:
    """The image files folder of DATASET (a model's, trained_models.dataset_of), if it is an image dataset."""
    return datasets.files_root(settings, dataset) if dataset is not None and dataset.kind == "images" else None


def checksum_path(path: Path) -> Path:
    """The sidecar of model file PATH: model.keras -> model.keras.sha256."""
    return path.with_name(path.name + SUFFIX)


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of the file at PATH, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def write_checksum(path: Path, digest: str | None = None) -> str:
    """Store the SHA-256 of PATH (or DIGEST, when the caller computed it) in its sidecar, atomically; return it.

    Called by whatever writes a model file into the store (the worker's trained models, deployed versions).
    """
    path = Path(path)
    digest = digest or sha256_of(path)
    sidecar = checksum_path(path)
    tmp = sidecar.with_name(f".{sidecar.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(f"{digest}  {path.name}\n")
        os.replace(tmp, sidecar)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def read_checksum(path: Path) -> str | None:
    """The digest stored beside PATH, or None when there is no (readable, well-formed) sidecar."""
    try:
        text = checksum_path(path).read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    digest = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    return digest if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) else None


def looks_like_keras(path: Path) -> bool:
    """True when PATH is a complete .keras archive: a ZIP with a config.json whose every entry's CRC checks."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            return "config.json" in names and archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError):
        return False


def _missing(what: str) -> ApiError:
    return ApiError(404, "file_missing", f"The file of {what} is missing from the artifact store.")


def corrupt(what: str, why: str) -> ApiError:
    """409 model_file_corrupt: the stored file cannot be trusted (it is never loaded, served or deployed)."""
    return ApiError(
        409,
        "model_file_corrupt",
        f"The file of {what} is corrupt ({why}); it is not used. Restore it from a backup or train again.",
    )


def _key(path: Path) -> tuple[str, int, int, int]:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def verified(path: Path, what: str) -> Path:
    """PATH after checking it against its SHA-256 sidecar (see verify_digest)."""
    verify_digest(path, what)
    return path


def verify_digest(path: Path, what: str) -> str:
    """The SHA-256 of PATH after checking it against its sidecar: 404 file_missing, 409 model_file_corrupt.

    A file stored before sidecars existed has none: it is accepted, and its sidecar written, only when it is a
    complete .keras archive. A file is hashed again only after it changes (size, mtime or inode).
    """
    try:
        if not path.is_file():
            raise _missing(what)
        key = _key(path)
    except (OSError, ValueError):
        raise _missing(what) from None
    with _verified_lock:
        if key in _verified:
            return _verified[key]
    try:
        actual = _check(path, what)
    except FileNotFoundError:
        raise _missing(what) from None
    with _verified_lock:
        if len(_verified) >= MAX_REMEMBERED:
            _verified.clear()
        _verified[key] = actual
    return actual


def _check(path: Path, what: str) -> str:
    """Hash PATH and compare with its sidecar, or vouch for a sidecar-less file by its archive and store one."""
    expected = read_checksum(path)
    if expected is None:
        if not looks_like_keras(path):
            raise corrupt(what, "it is not a complete .keras archive")
        try:
            return write_checksum(path)
        except FileNotFoundError:
            raise
        except PermissionError:  # a read-only store: verified now, hashed again next time
            return sha256_of(path)
    actual = sha256_of(path)
    if actual != expected:
        raise corrupt(what, "its SHA-256 does not match the one stored when it was written")
    return actual


def forget(path: Path) -> None:
    """Drop what is remembered about PATH having been verified (tests, deletes)."""
    with _verified_lock:
        for key in [k for k in _verified if k[0] == str(path)]:
            del _verified[key]
