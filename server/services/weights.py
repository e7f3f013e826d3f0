"""The site-wide pre-trained weights store (data.md): files Keras looks for in its cache (`$KERAS_HOME/models`).

Every training sees the store read-only as its Keras cache (worker/runtime/weights.py); it is filled with
`fitstudio weights import FILE…` or through the admin page, by file name exactly as Keras asks for it.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.errors import ApiError, invalid
from server.services import storage
from server.settings import Settings

FILE_MODE = 0o644  # read by the sandbox's unprivileged uid


def check_name(name: str) -> str:
    """A weights file name: a plain file name (no folder), 1-255 bytes, printable, not hidden."""
    name = name if isinstance(name, str) else ""
    if (
        not name
        or len(name.encode("utf-8", "surrogateescape")) > 255
        or name.startswith(".")
        or "/" in name
        or "\\" in name
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise invalid(
            f"Weights file name {name[:200]!r} must be a plain file name as Keras asks for it, "
            "e.g. 'resnet50_weights_tf_dim_ordering_tf_kernels.h5'.",
            errors=[{"field": "name", "message": "a plain file name, no folder, not starting with '.'"}],
            code="bad_name",
        )
    return name


def store(settings: Settings) -> Path:
    """The store's folder (created if missing)."""
    root = settings.weights_store
    root.mkdir(parents=True, exist_ok=True)
    return root


def list_files(settings: Settings) -> list[dict[str, Any]]:
    """[{name, size, modified_at}] of the store's files, by name."""
    out = []
    for entry in sorted(os.scandir(store(settings)), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        out.append({"name": entry.name, "size": st.st_size, "modified_at": datetime.fromtimestamp(st.st_mtime, UTC)})
    return out


def put(settings: Settings, name: str, received: Path) -> dict[str, Any]:
    """Move RECEIVED (consumed) into the store as NAME, replacing a file of that name; its {name, size, …}."""
    name = check_name(name)
    try:
        os.chmod(received, FILE_MODE)
        storage.atomic_move(received, store(settings) / name)
    finally:
        received.unlink(missing_ok=True)
    return _info(settings, name)


def import_file(settings: Settings, source: Path, name: str | None = None) -> dict[str, Any]:
    """Copy the file SOURCE into the store (as NAME, default its own name); its {name, size, modified_at}."""
    name = check_name(name or source.name)
    if not source.is_file():
        raise FileNotFoundError(f"{source} is not a file")
    target = store(settings) / name
    tmp = target.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        storage.atomic_copy(source, tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return _info(settings, name)


def delete(settings: Settings, name: str) -> None:
    """Remove NAME from the store (404 when absent)."""
    path = store(settings) / check_name(name)
    if not path.is_file() or path.is_symlink():
        raise ApiError(404, "not_found", f"The weights store has no file {name!r}.")
    path.unlink()


def _info(settings: Settings, name: str) -> dict[str, Any]:
    st = os.stat(store(settings) / name)
    return {"name": name, "size": st.st_size, "modified_at": datetime.fromtimestamp(st.st_mtime, UTC)}
