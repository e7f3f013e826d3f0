"""Managed folders in code cells (data.md): `Folder(name_or_id)`, read-only; `dataiku.Folder` is the same class.

Inside a training, the folders of every project the submitter can read are visible, each bound read-only into the
sandbox. A folder is named by its name (in the training's project first), `PROJECTKEY.name`, or its id.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO

from fitstudio.deep_learning import _context


class FolderNotFound(LookupError):
    """No visible folder has that name or id."""


class Folder:
    """A managed folder this training may read: `get_path()`, `list_paths_in_partition()`, `get_download_stream()`."""

    def __init__(self, name_or_id: str | int, project_key: str | None = None, ignore_flow: bool = False):
        self._info = _find(name_or_id, project_key)

    def __repr__(self) -> str:
        return f"Folder({self._info['project_key']}.{self._info['name']}, id={self._info['id']})"

    def get_id(self) -> str:
        """The folder's id (as a string, as DSS gives it)."""
        return str(self._info["id"])

    def get_name(self) -> str:
        """The folder's name."""
        return str(self._info["name"])

    def get_info(self, sensitive_info: bool = False) -> dict[str, Any]:
        """{id, name, projectKey, path, type}."""
        info = self._info
        return {
            "id": str(info["id"]),
            "name": info["name"],
            "projectKey": info["project_key"],
            "path": info["path"],
            "type": "Filesystem",
        }

    def get_path(self) -> str:
        """The folder's local path: a read-only directory holding its files."""
        return str(self._info["path"])

    def list_paths_in_partition(self, partition: str = "") -> list[str]:
        """Every file's path, relative to the folder and starting with '/' (as DSS gives them), sorted."""
        root = Path(self.get_path())
        out = []
        for base, dirs, files in os.walk(root):
            dirs.sort()
            for name in files:
                out.append("/" + Path(base, name).relative_to(root).as_posix())
        return sorted(out)

    def file_exists(self, path: str) -> bool:
        """Whether PATH is a file of the folder."""
        try:
            return self._file(path).is_file()
        except ValueError:
            return False

    def get_download_stream(self, path: str) -> BinaryIO:
        """The file PATH (as list_paths_in_partition gives it, or without the leading '/') opened for reading."""
        target = self._file(path)
        if not target.is_file():
            raise FileNotFoundError(f"Folder {self.get_name()!r} has no file {path!r}")
        return open(target, "rb")  # noqa: SIM115 - the caller closes it (a `with` block, as in DSS)

    def _file(self, path: str) -> Path:
        root = Path(self.get_path()).resolve()
        rel = str(path).lstrip("/")
        if not rel or "\x00" in rel or ".." in Path(rel).parts:
            raise ValueError(f"{path!r} is not a file path inside folder {self.get_name()!r}")
        target = (root / rel).resolve()
        if root not in target.parents:
            raise ValueError(f"{path!r} is not a file path inside folder {self.get_name()!r}")
        return target

    def _read_only(self, *_args: Any, **_kwargs: Any) -> Any:
        raise PermissionError(
            f"Folder {self.get_name()!r} is read-only in a training; upload files through the web UI or "
            "PUT /api/v1/folders/{id}/files/{path}."
        )

    upload_stream = upload_file = upload_data = delete_path = clear = get_writer = _read_only


def _find(name_or_id: str | int, project_key: str | None = None) -> dict[str, Any]:
    """The visible folder NAME_OR_ID: an id, a name in PROJECT_KEY (default: the training's project) or
    'KEY.name'; FolderNotFound naming it otherwise."""
    visible = _context.folders
    current = project_key or _context.current.get("project_key")
    ref = str(name_or_id).strip()
    if isinstance(name_or_id, int) or ref.isdigit():
        found = [f for f in visible if str(f["id"]) == ref]
    else:
        found = [f for f in visible if f["name"] == ref and f["project_key"] == current]
        if not found and "." in ref:
            key, _, name = ref.partition(".")
            found = [f for f in visible if f["name"] == name and f["project_key"] == key]
    if found:
        return found[0]
    where = f"project {current}" if current else "any project"
    names = sorted(f["name"] if f["project_key"] == current else f"{f['project_key']}.{f['name']}" for f in visible)
    known = ", ".join(names[:20]) + (", …" if len(names) > 20 else "") if names else "none"
    raise FolderNotFound(
        f"No managed folder {ref!r} is visible to this training: it does not exist in {where}, or the "
        f"submitter of the training cannot read its project. Folders this training can read: {known}."
    )
