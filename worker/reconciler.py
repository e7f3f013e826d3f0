"""The worker's reconciler pass: the shared SQL pass (server/services/reconciler.py), then its own leftovers.

What is truly the worker's: scratch folders of trainings no longer running here, temporary files left by
crashes (worker/temp_sweep.py: the big trees are swept once every orphan_max_age_s, not every pass), and stale
pids cgroups.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from server.services.reconciler import reconcile
from server.settings import Settings
from worker import temp_sweep
from worker.cgroups import clean_stale
from worker.workspace import owner_name


def clean_orphans(settings: Settings, active_scratch: set[str]) -> list[str]:
    """Remove scratch folders of trainings no longer running here and, when their sweep is due, temporary files
    left by crashes; here and now (loop_once sweeps on a thread of its own)."""
    return _old_scratch(settings, active_scratch, time.time()) + temp_sweep.sweep_due(settings)


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


SWEEPER = temp_sweep.Background()


def loop_once(settings: Settings, active_scratch: set[str]) -> dict[str, Any]:
    """What the heartbeat thread runs every reconcile_every_s: its cost does not grow with the data tree."""
    result: dict[str, Any] = dict(reconcile(settings))
    result["cleaned"] = _old_scratch(settings, active_scratch, time.time()) + clean_stale(active_scratch)
    result["temp_sweep_started"] = SWEEPER.start(settings)
    return result
