"""The memory limit held by the kernel (a memory cgroup per training, worker/cgroups.py), polling as the fallback."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from worker import cgroups, child_process
from worker.cgroups import TrainingCgroup
from worker.supervisor import Outcome, Sink, Supervisor

LIMIT_MB = 100
# Waits for the worker's go line (as the training child does), then touches 10 MiB at a time up to MB.
HOG = """
import os, sys, time
os.read(int(sys.argv[1]), 1)
held = []
for _ in range(int(sys.argv[2]) // 10):
    held.append(bytearray(10 << 20))
time.sleep(1)
"""


@pytest.fixture
def memory_cgroup() -> Iterator[Any]:
    """TrainingCgroup.create, skipping where this machine offers no memory controller to this user."""
    if cgroups._base() is None or cgroups._memory_base() is None:
        pytest.skip("no usable memory cgroup controller here: the supervisor polls memory (the fallback)")
    made: list[TrainingCgroup] = []

    def create(memory_mb: int = LIMIT_MB) -> TrainingCgroup:
        cgroup = TrainingCgroup.create(f"test-{uuid.uuid4().hex[:8]}-1", 64, memory_mb << 20)
        assert cgroup is not None and cgroup.memory is not None
        made.append(cgroup)
        return cgroup

    yield create
    for cgroup in made:
        cgroup.remove()
        assert not any(path.exists() for path in cgroup.paths)


def run_hog(cgroup: TrainingCgroup | None, allocate_mb: int, **limits: Any) -> Outcome:
    """Supervise a child that allocates ALLOCATE_MB once it is in CGROUP; what happened."""
    go_r, go_w = os.pipe()
    events_r, events_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOG, str(go_r), str(allocate_mb)], pass_fds=(go_r,), start_new_session=True
    )
    os.close(go_r)
    os.close(events_w)
    try:
        if cgroup is not None:
            cgroup.add_tree(proc.pid)
        os.write(go_w, b"\n")
        memory = cgroup.memory if cgroup is not None else None
        options: dict[str, Any] = {"time_limit_s": 60.0, "memory_limit_mb": LIMIT_MB, "max_processes": 100}
        options.update(limits)
        return Supervisor(
            proc,
            events_r,
            go_w,
            Sink(),
            on_request=lambda request: {"ok": True},
            oom_kills=memory.oom_kills if memory else None,
            **options,
        ).run()
    finally:
        child_process.kill_group(proc)


def test_the_kernel_ends_a_training_at_its_memory_limit_without_overshoot(memory_cgroup: Any) -> None:
    cgroup = memory_cgroup()
    outcome = run_hog(cgroup, 3 * LIMIT_MB)
    assert outcome.killed_for == "memory_limit", outcome
    assert outcome.message == (f"The training used more than {LIMIT_MB} MB of memory (FITSTUDIO_TRAINING_MEMORY_MB).")
    peak = cgroup.memory.peak()
    assert peak is not None and 0 < peak <= LIMIT_MB << 20, peak
    assert cgroup.memory.oom_kills() >= 1


def test_a_training_within_its_memory_limit_ends_normally(memory_cgroup: Any) -> None:
    cgroup = memory_cgroup()
    outcome = run_hog(cgroup, LIMIT_MB // 2)
    assert (outcome.killed_for, outcome.returncode) == (None, 0)
    assert cgroup.memory.oom_kills() == 0


def test_with_a_memory_cgroup_the_polled_size_does_not_decide(
    memory_cgroup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cgroup = memory_cgroup()
    # Resident sizes summed over a process tree count shared pages once per process: not the kernel's figure.
    monkeypatch.setattr(child_process, "group_usage", lambda pid: (1, 10 * LIMIT_MB << 20))
    assert run_hog(cgroup, LIMIT_MB // 2).killed_for is None


def test_without_a_memory_cgroup_polling_holds_the_limit() -> None:
    outcome = run_hog(None, 3 * LIMIT_MB)
    assert outcome.killed_for == "memory_limit", outcome


# Killed by SIGKILL, as the kernel's OOM killer ends a training.
KILLED = """
import os, signal, sys
os.read(int(sys.argv[1]), 1)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed(oom_kills: Any) -> Outcome:
    """Supervise a child that SIGKILLs itself, with OOM_KILLS as its memory cgroup's count."""
    go_r, go_w = os.pipe()
    events_r, events_w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(go_r)], pass_fds=(go_r,), start_new_session=True)
    os.close(go_r)
    os.close(events_w)
    os.write(go_w, b"\n")
    options: dict[str, Any] = {"time_limit_s": 60.0, "memory_limit_mb": LIMIT_MB, "max_processes": 100}
    sink = Sink()
    return Supervisor(
        proc, events_r, go_w, sink, on_request=lambda r: {"ok": True}, oom_kills=oom_kills, **options
    ).run()


def test_a_kill_the_kernel_counts_late_is_still_the_memory_limit() -> None:
    # On a loaded host the child was reaped before its cgroup counted the kill: it ended as "process_died".
    reads = iter([0, 0, 0, 0, 1])
    outcome = _killed(lambda: next(reads, 1))
    assert outcome.killed_for == "memory_limit" and outcome.returncode == -9, outcome
    never = _killed(lambda: 0)  # a SIGKILL that was not the kernel's at the limit: no reason made up
    assert never.killed_for is None and never.returncode == -9, never
