"""Paths under the data root and the artifact store, built only from ids we issued, and atomic writes."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from server.settings import Settings


def dataset_dir(settings: Settings, project_key: str, dataset_id: int) -> Path:
    """Folder of one dataset's files."""
    return settings.data_root / "projects" / project_key / "datasets" / str(int(dataset_id))


def dataset_staging_dir(settings: Settings, project_key: str) -> Path:
    """A fresh folder beside the project's datasets where an upload is stored before it has a row and an id (then
    renamed to its dataset_dir: the same parent, so one rename)."""
    return settings.data_root / "projects" / project_key / "datasets" / f".staging-{uuid.uuid4().hex}"


def folder_dir(settings: Settings, project_key: str, folder_id: int) -> Path:
    """Folder of one managed folder's files (bound read-only into the trainings that may read it)."""
    return settings.data_root / "projects" / project_key / "folders" / str(int(folder_id))


def trained_model_dir(settings: Settings, project_key: str, tmid: str) -> Path:
    """Folder of one trained model's files (model.keras, preprocessing)."""
    return settings.artifacts / "projects" / project_key / "trained" / tmid


def saved_version_dir(settings: Settings, project_key: str, saved_model_id: int, version_id: str) -> Path:
    """Folder of one saved model version's files."""
    return settings.artifacts / "projects" / project_key / "saved" / str(int(saved_model_id)) / version_id


def session_dir(settings: Settings, session_id: int) -> Path:
    """Folder of a session's log and checkpoints."""
    return settings.artifacts / "sessions" / str(int(session_id))


def upload_tmp(settings: Settings) -> Path:
    """A fresh temporary path for an upload being received."""
    folder = settings.data_root / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".upload-{uuid.uuid4().hex}"


def atomic_move(src: Path, dst: Path) -> None:
    """Move SRC to DST so DST is never seen half-written (same filesystem: rename; else copy then rename)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError:
        tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(src, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dst)
        finally:
            tmp.unlink(missing_ok=True)  # a copy cut short (a full disk) leaves nothing behind
        src.unlink(missing_ok=True)


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy SRC to DST through a temporary name, so DST is complete or absent."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)  # a copy cut short (a full disk) leaves nothing behind


def remove_tree(path: Path, root: Path) -> None:
    """Delete PATH, but only if it lies inside ROOT (never follow a bad id out of the store)."""
    path = path.resolve()
    root = root.resolve()
    if path == root or root not in path.parents:
        raise ValueError(f"refusing to delete {path}: it is not inside {root}")
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
