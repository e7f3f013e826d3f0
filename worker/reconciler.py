"""The worker's reconciler pass: the shared SQL pass (server/services/reconciler.py), then its own leftovers.

What is truly the worker's: scratch folders of trainings no longer running here, temporary files left by
crashes, and stale pids cgroups.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from server.services.reconciler import reconcile
from server.settings import Settings
from worker.cgroups import clean_stale
from worker.workspace import owner_name


def clean_orphans(settings: Settings, active_scratch: set[str]) -> list[str]:
    """Remove scratch folders of trainings no longer running here and temporary files left by crashes."""
    now = time.time()
    removed = _old_scratch(settings, active_scratch, now)
    for base in (settings.artifacts, settings.data_root):
        for tmp in _temp_files(base):
            try:
                if now - tmp.stat().st_mtime > settings.orphan_max_age_s:
                    tmp.unlink()
                    removed.append(str(tmp))
            except OSError:
                continue
    return removed


def _old_scratch(settings: Settings, active_scratch: set[str], now: float) -> list[str]:
    """Remove the scratch folders older than orphan_max_age_s that no training here uses; returns them."""
    removed: list[str] = []
    root = settings.scratch_root
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if owner_name(folder.name) in active_scratch:
            continue
        try:
            if now - folder.lstat().st_mtime > settings.orphan_max_age_s:
                if folder.is_dir() and not folder.is_symlink():
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    folder.unlink()
                removed.append(str(folder))
        except OSError:
            continue
    return removed


def _temp_files(base: Path) -> list[Path]:
    """The temporary files under BASE that an interrupted write may have left."""
    if not base.is_dir():
        return []
    patterns = ("**/.*.tmp", "**/*.tmp.keras", "**/.upload-*", "**/.data.parquet.tmp")
    found: list[Path] = []
    for pattern in patterns:
        found.extend(p for p in base.glob(pattern) if p.is_file())
    return found


def loop_once(settings: Settings, active_scratch: set[str]) -> dict[str, Any]:
    """What the heartbeat thread runs every reconcile_every_s."""
    result: dict[str, Any] = dict(reconcile(settings))
    result["cleaned"] = clean_orphans(settings, active_scratch) + clean_stale(active_scratch)
    return result
