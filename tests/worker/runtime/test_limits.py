"""The limits a training child sets on itself: rlimits and, when asked, a lower CPU priority (niceness, autogroup)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import json, os, resource
from core.contracts import Limits
from worker.runtime import limits
limits.apply(Limits(nice=%d, max_open_files=321))
try:
    group = open("/proc/self/autogroup").read().split()
except OSError:
    group = []
print(json.dumps({"nice": os.nice(0), "autogroup": group, "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))
"""


def probe(nice: int) -> dict[str, Any]:
    """Apply the limits in a new session (as the worker starts its children) and report what holds."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE % nice],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,
    ).stdout
    return json.loads(out)


def test_the_child_lowers_its_priority_and_its_autogroups() -> None:
    before = probe(0)
    after = probe(19)
    assert after["nice"] == min(19, before["nice"] + 19)
    assert after["nofile"] == 321
    if after["autogroup"]:  # kernels with autogroup scheduling: the child's group yields too
        assert after["autogroup"][-1] == "19" and before["autogroup"][-1] == "0"


def test_nice_zero_leaves_the_priority_alone() -> None:
    assert probe(0)["nice"] == os.nice(0)


def test_trainings_run_at_nice_5_unless_the_operator_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.settings import Settings

    monkeypatch.delenv("FITSTUDIO_TRAINING_NICE", raising=False)
    assert Settings().training_nice == 5  # bench/nice_sweep.py: the API and a start on a busy host both get CPU
    monkeypatch.setenv("FITSTUDIO_TRAINING_NICE", "19")
    assert Settings().training_nice == 19


GIVE_BACK = """
import json, os
import numpy as np
from worker.child_process import owned_memory
from worker.runtime import limits
def owned():
    return owned_memory(os.getpid()) >> 20
start = owned()
arrays = [np.ones(2048) for _ in range(20_000)]  # 16 KiB each: on the heap, below glibc's mmap threshold
kept = arrays[::64]  # one in 64 stays, so the freed chunks lie between live ones and the heap's top stays
del arrays
freed = owned()
limits.give_back_free_memory()
print(json.dumps({"start": start, "freed": freed, "given_back": owned(), "kept": len(kept)}))
"""


def test_the_memory_freed_by_preparing_is_given_back_to_the_system() -> None:
    """What the trainer does before its first epoch: freed heap memory no longer counts as the child's."""
    out = subprocess.run([sys.executable, "-c", GIVE_BACK], cwd=ROOT, capture_output=True, text=True, check=True)
    mib = json.loads(out.stdout)
    assert mib["freed"] - mib["start"] > 250, mib  # 320 MiB allocated, 5 MiB of it alive: still owned when freed
    assert mib["given_back"] - mib["start"] < 50, mib
