"""Files a training child wrote, read by the worker without trusting them: no symlinks, regular files, bounded.

The child runs as another uid and may replace what it writes with a symlink to a service file; the worker, often
root, would follow it. Its folders' own paths are the worker's (their parents are not the child's to change),
so refusing a link at the last component is enough.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 256 << 20


def _open_regular(path: Path) -> int | None:
    """An fd on PATH when it is a regular file with a single name; None otherwise (missing, a link, a pipe…)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        return None
    return fd


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any | None:
    """The JSON document in PATH, or None when it is absent, not a plain file, too large or not JSON."""
    fd = _open_regular(path)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def take_file(src: Path, dst: Path) -> bool:
    """Copy the child's file SRC to DST (the worker's from then on); False when SRC is not a plain file."""
    fd = _open_regular(src)
    if fd is None:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        with os.fdopen(fd, "rb") as source, open(tmp, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
            target.flush()
            os.fsync(target.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)  # a copy cut short (a full disk) leaves nothing behind
    return True
