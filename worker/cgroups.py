"""A pids cgroup per training, where the worker may create one (root with cgroup v1 or v2): a fork bomb stops there."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from worker import child_process

log = logging.getLogger(__name__)

V1_PIDS = Path("/sys/fs/cgroup/pids")
V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


def _base() -> Path | None:
    if (V1_PIDS / "cgroup.procs").exists() and os.access(V1_PIDS, os.W_OK):
        return V1_PIDS / "fitstudio"
    for root in V2_ROOTS:
        controllers = root / "cgroup.controllers"
        if controllers.exists() and "pids" in controllers.read_text().split() and os.access(root, os.W_OK):
            return root / "fitstudio"
    return None


class PidsCgroup:
    """One training's cgroup with pids.max; remove() after the child is gone."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, name: str, pids_max: int) -> PidsCgroup | None:
        """Make the cgroup, or None when this worker may not (then the supervisor counts processes)."""
        base = _base()
        if base is None:
            return None
        try:
            base.mkdir(exist_ok=True)
            if base.parent != V1_PIDS:  # cgroup v2: let the children use the pids controller
                (base / "cgroup.subtree_control").write_text("+pids")
            path = base / name
            path.mkdir(exist_ok=True)
            (path / "pids.max").write_text(str(pids_max))
            return cls(path)
        except OSError as exc:
            log.warning("no pids cgroup for %s: %s", name, exc)
            return None

    def add(self, pid: int) -> None:
        """Move PID (and its future children) into the cgroup."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def add_tree(self, pid: int, expected: int = 1) -> None:
        """Move PID and every process under it, until EXPECTED processes are in (cgroup v1 moves one process at a
        time, and a sandboxed training is three: bwrap, its init and the child, which waits until this is done)."""
        seen: list[int] = []
        for _ in range(200):
            tree = child_process.descendants(pid)
            for member in tree:
                try:
                    self.add(member)
                except ProcessLookupError:
                    continue
            if tree == seen and len(tree) >= expected:
                return
            seen = tree
            time.sleep(0.005)

    def remove(self) -> None:
        """Delete the cgroup (it must be empty)."""
        try:
            self.path.rmdir()
        except OSError as exc:
            log.warning("could not remove cgroup %s: %s", self.path, exc)


def clean_stale(active_scratch: set[str]) -> list[str]:
    """Remove empty cgroups of trainings no longer running here (left by a killed worker)."""
    base = _base()
    if base is None or not base.is_dir():
        return []
    removed = []
    for path in base.iterdir():
        if not path.is_dir() or any(path.name.startswith(f"{name}-") for name in active_scratch):
            continue
        try:
            path.rmdir()  # refuses a cgroup that still holds processes
            removed.append(str(path))
        except OSError:
            continue
    return removed
