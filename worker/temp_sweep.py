"""Temporary files left by crashes in the artifact store and the data tree: swept rarely, in one walk.

Writers put a file under a temporary name next to its final one and rename it (or unlink it when the write
fails); only a killed process leaves one behind. Such a file is removed once older than orphan_max_age_s, so a
sweep more often than that finds nothing more to do, yet both trees grow with every dataset, image and model.
The reconciler's pass (every reconcile_every_s) therefore only checks a stamp file in each tree's root: when it is
older than orphan_max_age_s, this worker claims the tree (touches the stamp, so the other workers sharing it skip
it) and sweeps it in a single os.scandir walk, on a thread of its own so that heartbeats never wait for it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from server.settings import Settings

log = logging.getLogger(__name__)

STAMP = ".temp-sweep"  # in each tree's root: its mtime is when a worker last claimed the tree's sweep
# fitstudio's temporary names (server/services/storage.py and the other writers): ".X.tmp", "X.tmp.keras",
# uploads being received (".upload-<hex>").
TEMP_NAME = re.compile(r"^\..*\.tmp$|\.tmp\.keras$|^\.upload-")
# An upload being parsed (server/services/storage.dataset_staging_dir): a whole folder, renamed into place or
# removed by the API when it ends; only an API killed mid-upload leaves one.
STAGING_NAME = re.compile(r"^\.staging-[0-9a-f]{32}$")
# Managed folders hold the user's own files, hidden names included: there only storage.atomic_move's
# ".<name>.<uuid hex>.tmp" is ours (a user's ".notes.tmp" is kept).
FOLDER_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


def roots(settings: Settings) -> list[Path]:
    """The trees swept: the artifact store and the data tree."""
    return [settings.artifacts, settings.data_root]


def claim_due(settings: Settings, now: float | None = None) -> list[Path]:
    """The trees whose last sweep (by any worker) is older than orphan_max_age_s, claimed for this worker now."""
    now = time.time() if now is None else now
    due = []
    for root in roots(settings):
        stamp = root / STAMP
        try:
            if now - stamp.stat().st_mtime < settings.orphan_max_age_s:
                continue
        except FileNotFoundError:
            pass  # never swept: a new tree, or a worker's first pass on it
        except OSError:
            continue
        try:
            stamp.touch()
            os.utime(stamp, (now, now))  # this worker's clock, the one file ages are measured with
        except OSError:  # no such tree yet, or read-only here: nothing this worker could remove either
            continue
        due.append(root)
    return due


def temp_files(root: Path) -> Iterator[os.DirEntry[str]]:
    """The temporary files (and upload staging folders) under ROOT: one os.scandir walk, links never followed."""
    stack: list[tuple[str, bool]] = [(str(root), False)]
    managed = os.path.join(str(root), "projects")  # data/projects/<KEY>/folders/<id>/: users' files
    while stack:
        folder, users = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:  # removed meanwhile, or unreadable
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not users and STAGING_NAME.match(entry.name):
                            yield entry  # removed whole once old enough; its files are the upload's, not walked
                            continue
                        parent = os.path.dirname(folder)
                        inside = users or (os.path.basename(folder) == "folders" and os.path.dirname(parent) == managed)
                        stack.append((entry.path, inside))
                    elif (FOLDER_TEMP_NAME if users else TEMP_NAME).search(entry.name) and entry.is_file(
                        follow_symlinks=False
                    ):
                        yield entry
                except OSError:
                    continue


def sweep(root: Path, max_age_s: float, now: float | None = None) -> list[str]:
    """Remove the temporary files under ROOT older than MAX_AGE_S; returns their paths."""
    now = time.time() if now is None else now
    removed = []
    for entry in temp_files(root):
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime > max_age_s:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:  # gone meanwhile (renamed into place, or removed by another worker)
            continue
    return removed


def sweep_due(settings: Settings, now: float | None = None) -> list[str]:
    """Claim and sweep, here and now, the trees that are due; returns the files removed."""
    removed: list[str] = []
    for root in claim_due(settings, now):
        removed += sweep(root, settings.orphan_max_age_s, now)
    return removed


class Background:
    """Runs sweep_due on its own thread, one sweep at a time (the reconciler's pass only starts it)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.removed: list[str] = []  # what the last finished sweep removed

    def start(self, settings: Settings) -> bool:
        """Start a sweep of the trees that are due; False when one is still running or none is due."""
        if self._thread is not None and self._thread.is_alive():
            return False
        due = claim_due(settings)
        if not due:
            return False
        self._thread = threading.Thread(
            target=self._run, args=(due, settings.orphan_max_age_s), name="fitstudio-temp-sweep", daemon=True
        )
        self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for the running sweep, if any."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, due: list[Path], max_age_s: float) -> None:
        started = time.monotonic()
        try:
            removed = [path for root in due for path in sweep(root, max_age_s)]
        except Exception:
            log.exception("temporary file sweep failed")
            return
        self.removed = removed
        log.info(
            "swept %s in %.2f s: %d temporary file(s) removed",
            ", ".join(map(str, due)),
            time.monotonic() - started,
            len(removed),
        )
