"""fitstudio's cpu cgroups, where they can be made (root with cgroup v1's cpu hierarchy, or v2 with cpu offered):
the service (the API and the worker), the uploads' parse processes and each training, siblings under BASE.

Shared by the API (the uploads' parse processes join theirs) and the worker (the service, the trainings'); the
trainings' other cgroups (pids, memory) are the worker's (worker/cgroups.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

V1_CPU = Path("/sys/fs/cgroup/cpu")
V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
BASE = "fitstudio"
SERVICE = "service"  # the cpu cgroup of the API, the worker and what they run but trainings and uploads' parses
UPLOADS = "uploads"  # the cpu cgroup of the uploads' parse processes
# The cpu weight of each role, siblings under BASE: cgroup v1's cpu.shares (default 1024) and v2's cpu.weight
# (default 100); only their ratios inside BASE matter, the host sees BASE's own weight. A training at v1's least
# (2, a 512th) rather than a 16th: under two trainings on 2 cores, GET /sessions/{id}'s p99 fell from 49-139 to
# 6.0-9.1 ms, the wait before the API's handler gone, and a training's start on a busy host took as long (1.56x
# idle, against 1.50-1.64x). cpu.idle did as well for the API but slowed that start to 1.78-2.02x. The uploads'
# parses at an 8th: below the requests, above the trainings (docs/benchmarks.md, "A training at the least cpu
# weight", "Uploads below the requests"). v2 keeps the ratios (not measured: this project's machines are v1).
# A sandboxed scoring (`…/predict` of a model that needs its code cells: a person waits, at most
# FITSTUDIO_SCORING_WAIT_S) at the uploads' weight: below the requests, above the trainings, which starved it past
# that wait on a busy host.
V1_SHARES = {SERVICE: 1024, UPLOADS: 128, "scoring": 128, "training": 2}
V2_WEIGHTS = {SERVICE: 10000, UPLOADS: 1250, "scoring": 1250, "training": 20}
SIBLINGS_KEPT = (SERVICE, UPLOADS)  # the stale cleanup removes BASE's other empty folders (trainings gone)


def v2_root(controller: str) -> Path | None:
    """The cgroup v2 mount whose root offers CONTROLLER and that this process may write."""
    for root in V2_ROOTS:
        controllers = root / "cgroup.controllers"
        if controllers.exists() and controller in controllers.read_text().split() and os.access(root, os.W_OK):
            return root
    return None


def cpu_base() -> Path | None:
    """Where the service's, the uploads' and the trainings' cpu cgroups go, or None where the cpu controller cannot
    be used."""
    if (V1_CPU / "cpu.shares").exists() and os.access(V1_CPU, os.W_OK):
        return V1_CPU / BASE
    root = v2_root("cpu")
    return root / BASE if root else None


def set_cpu_weight(path: Path, role: str) -> None:
    """Give the cpu cgroup PATH the weight of ROLE (SERVICE, UPLOADS, "scoring" or "training")."""
    if (path / "cpu.shares").exists():
        (path / "cpu.shares").write_text(str(V1_SHARES[role]))
    else:
        (path / "cpu.weight").write_text(str(V2_WEIGHTS[role]))


def v2_enable(base: Path, controllers: list[str]) -> None:
    """Let BASE's children use CONTROLLERS (and BASE itself, from the v2 root)."""
    for folder in (base.parent, base):
        enabled = (folder / "cgroup.subtree_control").read_text().split()
        wanted = " ".join(f"+{c}" for c in controllers if c not in enabled)
        if wanted:
            (folder / "cgroup.subtree_control").write_text(wanted)


def join(role: str) -> Path | None:
    """Move this process (and what it starts from now on) into ROLE's cpu cgroup (SERVICE or UPLOADS) with its
    weight; None where the cpu controller cannot be used."""
    base = cpu_base()
    if base is None:
        return None
    try:
        base.mkdir(exist_ok=True)
        if base.parent != V1_CPU:
            v2_enable(base, ["cpu"])
        path = base / role
        path.mkdir(exist_ok=True)
        set_cpu_weight(path, role)
        (path / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as exc:
        log.warning("no cpu cgroup for %s: %s", role, exc)
        return None
    return path


def cpu_cgroup_of(pid: int | str) -> str | None:
    """The cpu cgroup process PID is in: cgroup v1's cpu hierarchy, else v2's unified one."""
    try:
        entries = [line.split(":", 2) for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()]
    except OSError:
        return None
    for _, controllers, path in entries:
        if "cpu" in controllers.split(","):
            return path
    return next((path for number, _, path in entries if number == "0"), None)


def in_service() -> bool:
    """Whether this process is in the service's cpu cgroup (join(SERVICE))."""
    return cpu_cgroup_of("self") == f"/{BASE}/{SERVICE}"


def join_uploads_if_in_service() -> None:
    """An upload's parse process: into the uploads' cpu cgroup, when its API is in the service's (a group beside
    an API outside it would take the CPU from it, as a training's would)."""
    if in_service():
        join(UPLOADS)
