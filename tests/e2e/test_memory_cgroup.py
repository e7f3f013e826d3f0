"""A code cell that allocates past FITSTUDIO_TRAINING_MEMORY_MB on a real worker: the kernel ends it at the limit
(a memory cgroup per training), the session fails with the memory message, and the peak never passed the limit."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Runtime
from tests.e2e.test_runtime_isolation import HEAD
from worker import cgroups

pytestmark = pytest.mark.slow

LIMIT_MB = 3000  # the runtime fixture's FITSTUDIO_TRAINING_MEMORY_MB
HOG = (
    HEAD
    + """
import numpy


def build_model(input_shapes, n_classes=None):
    held = [numpy.ones(50_000_000) for _ in range(12)]  # 400 MB at a time, 4.8 GB in all, every page touched
    return default_model(input_shapes, n_classes + int(held[-1][-1]) - 1)
"""
)
PEAK = re.compile(r"^\[fitstudio\] peak memory (\d+) MB \(limit (\d+) MB\)$", re.M)


@pytest.fixture(scope="module", autouse=True)
def memory_controller() -> None:
    if cgroups._base() is None or cgroups._memory_base() is None:
        pytest.skip("no usable memory cgroup controller here: the supervisor polls memory (the fallback)")


def peak_mb(runtime: Runtime, session_id: int) -> int:
    """The peak the worker logged from the training's memory cgroup, checked against the limit it names."""
    log = runtime.api.get(f"/api/v1/sessions/{session_id}/log").text
    found = PEAK.findall(log)
    assert found, log[-2000:]
    peak, limit = map(int, found[-1])
    assert limit == LIMIT_MB
    return peak


def test_a_cell_over_the_limit_fails_with_the_memory_message_and_no_overshoot(runtime: Runtime) -> None:
    from server.services.bootstrap import demo_bytes

    dataset = runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())
    hog = runtime.train(runtime.task(dataset, "diagnosis", patch={"code": {"architecture": HOG}})["id"])["id"]
    fine = runtime.train(runtime.task(dataset, "diagnosis", patch={"training": {"epochs": 1}})["id"])["id"]

    final = runtime.wait(hog, timeout=180)
    assert final["status"] == "failed", final
    assert final["error"]["type"] == "memory_limit", final["error"]
    assert final["error"]["message"] == (
        f"The training used more than {LIMIT_MB} MB of memory (FITSTUDIO_TRAINING_MEMORY_MB)."
    )
    hog_peak = peak_mb(runtime, hog)
    print(f"\nmemory hog: peak {hog_peak} MB against a {LIMIT_MB} MB limit")
    assert hog_peak <= LIMIT_MB

    final = runtime.wait(fine, timeout=180)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    fine_peak = peak_mb(runtime, fine)
    print(f"plain training: peak {fine_peak} MB")
    assert 0 < fine_peak <= LIMIT_MB
