"""A training's cgroups, where the worker may create them (root with cgroup v1 or v2).

pids.max: a fork bomb stops there. memory (where the memory controller may be used): the kernel holds the
training to FITSTUDIO_TRAINING_MEMORY_MB, swap included, and OOM-kills it at the limit instead of the supervisor
noticing a polled RSS above it a moment later; the supervisor reads the cgroup's oom_kill count to say why the
training ended. Without a memory controller the supervisor's polling is the limit (worker/supervisor.py).
cpu (where the cpu controller may be used): the API and the worker join fitstudio/service (join_service), and each
training's cgroup is its sibling with a 512th of its weight, so a request preempts the trainings while the
host's other processes see fitstudio as one group (docs/decisions.md, "The service before its trainings"). The
cpu cgroups' places and weights, the uploads' parse processes' too, are core/cpu_cgroups.py's.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from core.cpu_cgroups import (
    BASE,
    SERVICE,
    SIBLINGS_KEPT,
    cpu_base,
    in_service,
    join,
    set_cpu_weight,
    v2_enable,
    v2_root,
)
from worker import child_process

log = logging.getLogger(__name__)

V1_PIDS = Path("/sys/fs/cgroup/pids")
V1_MEMORY = Path("/sys/fs/cgroup/memory")


def _base() -> Path | None:
    """Where the pids cgroups of trainings go."""
    if (V1_PIDS / "cgroup.procs").exists() and os.access(V1_PIDS, os.W_OK):
        return V1_PIDS / BASE
    root = v2_root("pids")
    return root / BASE if root else None


def _memory_base() -> Path | None:
    """Where the memory cgroups of trainings go (the pids base itself on cgroup v2), or None."""
    if (V1_MEMORY / "memory.limit_in_bytes").exists() and os.access(V1_MEMORY, os.W_OK):
        return V1_MEMORY / BASE
    root = v2_root("memory")
    return root / BASE if root else None


def join_service() -> Path | None:
    """Move this process (and what it starts from now on) into fitstudio's service cpu cgroup, whose trainings'
    cgroups are its siblings; None where the cpu controller cannot be used (then only the trainings' niceness
    ranks them below the service)."""
    return join(SERVICE)


class MemoryCgroup:
    """A memory limit the kernel enforces: cgroup v2 (memory.max) or v1 (memory.limit_in_bytes)."""

    def __init__(self, path: Path):
        self.path = path
        self.v1 = (path / "memory.limit_in_bytes").exists()

    def limit(self, limit_bytes: int) -> None:
        """Set the limit, with no swap beyond it."""
        if self.v1:
            (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            memsw = self.path / "memory.memsw.limit_in_bytes"  # absent when the kernel accounts no swap
            if memsw.exists():
                memsw.write_text(str(limit_bytes))
            return
        (self.path / "memory.max").write_text(str(limit_bytes))
        swap = self.path / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        group = self.path / "memory.oom.group"
        if group.exists():  # an OOM kill takes the whole training, not one of its processes
            group.write_text("1")

    def oom_kills(self) -> int:
        """How many processes the kernel killed for this cgroup's limit (0 when unreadable)."""
        name = "memory.oom_control" if self.v1 else "memory.events"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def peak(self) -> int | None:
        """The most memory the training held at once (None where the kernel does not say)."""
        try:
            return int((self.path / ("memory.max_usage_in_bytes" if self.v1 else "memory.peak")).read_text())
        except (OSError, ValueError):
            return None


class TrainingCgroup:
    """One training's cgroups (one folder on cgroup v2, one per hierarchy on v1); remove() after it is gone."""

    def __init__(self, paths: list[Path], memory: MemoryCgroup | None):
        self.paths = paths
        self.memory = memory

    @property
    def path(self) -> Path:
        """The pids cgroup."""
        return self.paths[0]

    @classmethod
    def create(
        cls, name: str, pids_max: int, memory_bytes: int | None = None, cpu_role: str = "training"
    ) -> TrainingCgroup | None:
        """Make the cgroups, or None when this worker may not (then the supervisor counts processes and polls
        memory); the memory cgroup is left out where its controller cannot be used; the cpu cgroup has CPU_ROLE's
        weight (core/cpu_cgroups.py)."""
        base = _base()
        if base is None:
            return None
        try:
            memory_base = _memory_base() if memory_bytes else None
            base.mkdir(exist_ok=True)
            if base.parent != V1_PIDS:  # cgroup v2: let the children use the controllers
                v2_enable(base, ["pids", "memory"] if memory_base == base else ["pids"])
            path = base / name
            path.mkdir(exist_ok=True)
            (path / "pids.max").write_text(str(pids_max))
            out = cls([path], None)
        except OSError as exc:
            log.warning("no pids cgroup for %s: %s", name, exc)
            return None
        if memory_base is not None and memory_bytes:
            out.memory = out._add_memory(memory_base, name, memory_bytes)
        out._add_cpu(name, cpu_role)
        return out

    def _add_cpu(self, name: str, role: str) -> None:
        """The training's cpu cgroup, a sibling of the service's with ROLE's weight; none where the cpu controller
        cannot be used or
        this worker is not in the service's cgroup (the API then likely is not either, and a training group of
        the API's weight would take the CPU from it: docs/benchmarks.md, "The service before its trainings")."""
        base = cpu_base()
        if base is None or not in_service():
            return
        try:
            path = self._folder_in(base, name)
            if path == self.path:  # cgroup v2: one folder, the controller enabled for it
                v2_enable(base, ["cpu"])
            set_cpu_weight(path, role)
        except OSError as exc:
            log.warning("no cpu cgroup for %s (its niceness alone ranks it): %s", name, exc)

    def _folder_in(self, base: Path, name: str) -> Path:
        """The training's folder NAME under a controller's BASE: on cgroup v1 a folder of that hierarchy, made and
        kept with the others; on v2 the one folder of every controller."""
        path = base / name
        if path != self.path:
            base.mkdir(exist_ok=True)
            path.mkdir(exist_ok=True)
            self.paths.append(path)
        return path

    def _add_memory(self, memory_base: Path, name: str, memory_bytes: int) -> MemoryCgroup | None:
        try:
            path = self._folder_in(memory_base, name)
            memory = MemoryCgroup(path)
            memory.limit(memory_bytes)
            return memory
        except OSError as exc:
            log.warning("no memory cgroup for %s (the memory limit is polled): %s", name, exc)
            return None

    def add(self, pid: int) -> None:
        """Move PID (and its future children) into the cgroups."""
        for path in self.paths:
            (path / "cgroup.procs").write_text(str(pid))

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
        """Delete the cgroups (they must be empty)."""
        for path in self.paths:
            try:
                path.rmdir()
            except OSError as exc:
                log.warning("could not remove cgroup %s: %s", path, exc)


def _starter_alive(name: str) -> bool:
    """True when the process whose pid ends cgroup NAME (`s12-l1-4242`: the training's first process, started
    before its cgroups are made) is alive. Another worker's reconciler took such an empty cgroup for a stale one:
    the training was never moved in, never told to go, and waited until its session timed out."""
    pid = name.rsplit("-", 1)[-1]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def clean_stale(active_scratch: set[str]) -> list[str]:
    """Remove empty cgroups of trainings no longer running here (left by a killed worker), but those whose training
    process is alive: any worker of the host runs this, and a training's cgroups are empty between their creation
    and the training's move into them."""
    removed = []
    for base in {_base(), _memory_base(), cpu_base()}:
        if base is None or not base.is_dir():
            continue
        for path in base.iterdir():
            if (
                not path.is_dir()
                or path.name in SIBLINGS_KEPT
                or any(path.name.startswith(f"{name}-") for name in active_scratch)
                or _starter_alive(path.name)
            ):
                continue
            try:
                path.rmdir()  # refuses a cgroup that still holds processes
                removed.append(str(path))
            except OSError:
                continue
    return removed
