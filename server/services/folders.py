"""Managed folders (data.md): a project's named files, stored under the data root, readable by code cells.

The files are the folder's directory itself (`storage.folder_dir`): listing reads the disk, and trainings get
that directory bound read-only. Paths inside a folder are relative POSIX paths, normalized, never leaving it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import ApiError, conflict, invalid, not_found
from server.models import ManagedFolder, Project, User
from server.services import access, audit, projects, storage
from server.services.ids import is_sql_int
from server.settings import Settings

MAX_PATH = 1024  # characters of a path inside a folder
MAX_SEGMENT = 255  # bytes of one of its parts (what file systems allow)
FILE_MODE = 0o644  # the sandbox's unprivileged uid reads the files through a read-only bind


def check_name(name: str) -> str:
    """A folder name: 1-200 printable characters, no slash, not only digits (those are ids)."""
    name = (name or "").strip()
    if (
        not name
        or len(name) > 200
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
        or "/" in name
        or "\\" in name
        or name.isdigit()
    ):
        raise invalid(
            f"Folder name {name!r} must be 1-200 printable characters without '/' or '\\', and not only digits.",
            errors=[{"field": "name", "message": "1-200 printable characters, no slash, not only digits"}],
            code="bad_name",
        )
    return name


def clean_path(raw: str) -> str:
    """RAW as a normalized relative POSIX path inside a folder; 422 `bad_path` for anything that could leave it.

    Empty and '.' parts are dropped ('a//./b' is 'a/b'); an absolute path, a '..' part, a backslash, a control
    character (NUL included), an empty result or an over-long path or part are refused.
    """
    text = raw if isinstance(raw, str) else ""

    def bad(why: str) -> ApiError:
        return invalid(
            f"File path {text[:200]!r} {why}; use a relative path such as 'weights/model.h5'.",
            errors=[{"field": "path", "message": why}],
            code="bad_path",
        )

    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise bad("holds a control character")
    if "\\" in text:
        raise bad("holds a backslash")
    if text.startswith("/"):
        raise bad("is absolute")
    if len(text) > MAX_PATH:
        raise bad(f"is longer than {MAX_PATH} characters")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise bad("climbs out of the folder with '..'")
    if not parts:
        raise bad("names no file")
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_SEGMENT for p in parts):
        raise bad(f"has a part longer than {MAX_SEGMENT} bytes")
    return "/".join(parts)


def _key(folder: ManagedFolder) -> str:
    return folder.project.key


def directory(settings: Settings, folder: ManagedFolder) -> Path:
    """The folder's directory (created if missing)."""
    path = storage.folder_dir(settings, _key(folder), folder.id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _inside(settings: Settings, folder: ManagedFolder, path: str) -> Path:
    """The file PATH (already clean) of FOLDER on disk, refusing anything that resolves outside it."""
    root = directory(settings, folder).resolve()
    target = root / path
    resolved = target.resolve()
    if resolved != root and root not in resolved.parents:
        raise invalid(f"File path {path!r} leaves the folder.", code="bad_path")
    return target


def create(db: Session, settings: Settings, project: Project, user: User, name: str) -> ManagedFolder:
    """Create folder NAME in PROJECT (409 when the project has one of that name)."""
    name = check_name(name)
    if db.scalar(select(ManagedFolder.id).where(ManagedFolder.project_id == project.id, ManagedFolder.name == name)):
        raise conflict("folder_exists", f"Project {project.key} already has a folder named {name!r}; choose another.")
    row = ManagedFolder(project_id=project.id, name=name, created_by=user.id)
    row.project = project
    db.add(row)
    db.flush()
    directory(settings, row)
    audit.record(db, user, "folder.create", str(row.id), project=project.key, name=name)
    return row


def of_project(db: Session, project: Project) -> list[ManagedFolder]:
    """PROJECT's folders, oldest first."""
    return list(
        db.scalars(select(ManagedFolder).where(ManagedFolder.project_id == project.id).order_by(ManagedFolder.id))
    )


def load(db: Session, user: User, folder_id: Any, needed: str = "reader") -> ManagedFolder:
    """The folder FOLDER_ID if USER holds NEEDED in its project (404 when they cannot see it, else 403)."""
    missing = not_found("folder", folder_id)
    row = db.get(ManagedFolder, int(folder_id)) if is_sql_int(folder_id) else None
    if row is None:
        raise missing
    access.check(db, user, row.project, needed, missing)
    return row


def _modified(stat: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat.st_mtime, UTC)


def list_files(settings: Settings, folder: ManagedFolder) -> list[dict[str, Any]]:
    """[{path, size, modified_at}] of every file in FOLDER, by path (links and odd entries are skipped)."""
    root = directory(settings, folder)
    out: list[dict[str, Any]] = []
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(base, d))]
        for name in files:
            full = os.path.join(base, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue  # deleted meanwhile
            if not os.path.isfile(full) or os.path.islink(full):
                continue
            rel = PurePosixPath(Path(full).relative_to(root).as_posix())
            out.append({"path": str(rel), "size": st.st_size, "modified_at": _modified(st)})
    out.sort(key=lambda f: f["path"])
    return out


def file_path(settings: Settings, folder: ManagedFolder, raw_path: str) -> Path:
    """The stored file RAW_PATH of FOLDER (404 when there is none)."""
    path = clean_path(raw_path)
    target = _inside(settings, folder, path)
    if not target.is_file() or target.is_symlink():
        raise ApiError(404, "not_found", f"Folder {folder.name!r} has no file {path!r}.")
    return target


def put_file(
    db: Session, settings: Settings, folder: ManagedFolder, user: User, raw_path: str, received: Path
) -> dict[str, Any]:
    """Store the file RECEIVED (consumed) as RAW_PATH in FOLDER, replacing one of that path; its {path, size,
    modified_at}. 409 when the path is a folder of files or runs through a file."""
    path = clean_path(raw_path)
    try:
        target = _inside(settings, folder, path)
        if target.is_dir():
            raise conflict("path_is_folder", f"{path!r} is a sub-folder of {folder.name!r}; choose another path.")
        root = directory(settings, folder)
        for parent in PurePosixPath(path).parents:
            if str(parent) != "." and (root / parent).is_file():
                raise conflict("path_under_file", f"{str(parent)!r} is a file of {folder.name!r}, not a sub-folder.")
        os.chmod(received, FILE_MODE)
        storage.atomic_move(received, target)
        for parent in target.parents:  # readable by the sandbox's uid, whatever the umask
            if parent == root:
                break
            os.chmod(parent, 0o755)
    finally:
        received.unlink(missing_ok=True)
    audit.record(db, user, "folder.upload", str(folder.id), project=_key(folder), path=path)
    st = os.stat(target)
    return {"path": path, "size": st.st_size, "modified_at": _modified(st)}


def delete_file(db: Session, settings: Settings, folder: ManagedFolder, user: User, raw_path: str) -> None:
    """Delete the file RAW_PATH of FOLDER (404 when there is none) and the sub-folders it leaves empty."""
    target = file_path(settings, folder, raw_path)
    target.unlink()
    root = directory(settings, folder)
    for parent in target.parents:
        if parent == root:
            break
        try:
            parent.rmdir()
        except OSError:
            break  # not empty
    audit.record(db, user, "folder.delete_file", str(folder.id), project=_key(folder), path=clean_path(raw_path))


def delete(db: Session, settings: Settings, folder: ManagedFolder, user: User) -> None:
    """Delete FOLDER and its files."""
    key, ident, name = _key(folder), folder.id, folder.name
    path = storage.folder_dir(settings, key, ident)
    db.delete(folder)
    db.flush()
    audit.record(db, user, "folder.delete", str(ident), project=key, name=name)
    if path.exists():
        storage.remove_tree(path, settings.data_root)


def visible_to(db: Session, settings: Settings, user: User) -> list[dict[str, Any]]:
    """Every folder USER may read, as a training sees them: [{id, name, project_key, path}]."""
    keys = {p.id: p.key for p in projects.visible(db, user)}
    if not keys:
        return []
    rows = db.scalars(select(ManagedFolder).where(ManagedFolder.project_id.in_(keys)).order_by(ManagedFolder.id))
    return [
        {
            "id": f.id,
            "name": f.name,
            "project_key": keys[f.project_id],
            "path": str(storage.folder_dir(settings, keys[f.project_id], f.id)),
        }
        for f in rows
    ]
