"""The training output log of a session (written by the worker, read by the API)."""

from __future__ import annotations

from pathlib import Path

from server.models import TrainingSession
from server.services import storage
from server.settings import Settings

MAX_READ = 8 << 20


def path_of(settings: Settings, session: TrainingSession) -> Path:
    """Where SESSION's log lives."""
    return storage.session_dir(settings, session.id) / "output.log"


def read_all(settings: Settings, session: TrainingSession) -> str:
    """The log's text (its last 8 MiB when longer)."""
    path = path_of(settings, session)
    if not path.exists():
        return ""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size > MAX_READ:
            fh.seek(size - MAX_READ)
        return fh.read().decode("utf-8", "replace")


def read_from(settings: Settings, session: TrainingSession, offset: int) -> tuple[str, int]:
    """Text appended since OFFSET (whole lines only) and the new offset."""
    path = path_of(settings, session)
    if not path.exists():
        return "", offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(1 << 20)
    cut = data.rfind(b"\n")
    if cut < 0:
        return "", offset
    return data[: cut + 1].decode("utf-8", "replace"), offset + cut + 1
