"""Trainings run at nice 5 by default (FITSTUDIO_TRAINING_NICE), in cpu cgroups below the service's where the cpu
controller can be used (worker/cgroups.py), and the API answers quickly while two of them train."""

from __future__ import annotations

import asyncio
import time

import httpx
import psutil
import pytest

from core import cpu_cgroups
from tests.e2e.conftest import Runtime
from tests.e2e.test_runtime_control import LONG, wait_for_epochs
from tests.server.api.support import serve

pytestmark = pytest.mark.slow

PROBE_S = 10.0


def training_children(worker_pid: int) -> list[psutil.Process]:
    """The worker's descendants that run `worker.runtime.child` (inside the sandbox or not)."""
    out = []
    for proc in psutil.Process(worker_pid).children(recursive=True):
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if "worker.runtime.child" in cmdline and not any("bwrap" in part for part in cmdline[:1]):
            out.append(proc)
    return out


async def probe_healthz(base: str, seconds: float) -> list[tuple[int, float]]:
    """GET /healthz every 0.1 s for SECONDS: (status, latency) of each."""
    out: list[tuple[int, float]] = []
    async with httpx.AsyncClient(timeout=10) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.monotonic()
            r = await client.get(f"{base}/healthz")
            out.append((r.status_code, time.monotonic() - start))
            await asyncio.sleep(0.1)
    return out


def the_worker() -> psutil.Process:
    """The runtime fixture's `fitstudio worker` process (a child of this test process)."""
    for proc in psutil.Process().children():
        if "worker" in proc.cmdline() and "fitstudio.cli" in proc.cmdline():
            return proc
    raise AssertionError("no worker process")


def check_cpu_cgroups(worker: psutil.Process, children: list[psutil.Process]) -> None:
    """Where the cpu controller can be used, the worker is in the service's cpu cgroup and each training in one of
    its own beside it, with the training's weight."""
    base = cpu_cgroups.cpu_base()
    if base is None:
        return  # tests/worker/test_cpu_cgroup.py says why it skips
    assert cpu_cgroups.cpu_cgroup_of(worker.pid) == f"/{cpu_cgroups.BASE}/{cpu_cgroups.SERVICE}"
    places = {cpu_cgroups.cpu_cgroup_of(child.pid) for child in children}
    assert len(places) == len(children) and all(place and place.startswith(f"/{cpu_cgroups.BASE}/") for place in places)
    for place in places:
        path = base / place.rsplit("/", 1)[1]
        v1 = (path / "cpu.shares").exists()
        weight = int((path / ("cpu.shares" if v1 else "cpu.weight")).read_text())
        assert weight == (cpu_cgroups.V1_SHARES if v1 else cpu_cgroups.V2_WEIGHTS)["training"]


def test_two_trainings_at_the_default_niceness_leave_the_api_responsive(runtime: Runtime) -> None:
    from server.services.bootstrap import demo_bytes

    dataset = runtime.dataset("prio", demo_bytes("breast_cancer").getvalue())
    sessions = [runtime.train(runtime.task(dataset, "diagnosis", patch=LONG)["id"])["id"] for _ in range(2)]
    try:
        for sid in sessions:
            wait_for_epochs(runtime, sid)
        worker = the_worker()
        children = training_children(worker.pid)
        assert len(children) >= 2, runtime.log_tail()
        assert {child.nice() for child in children} == {min(19, worker.nice() + 5)}  # FITSTUDIO_TRAINING_NICE=5
        check_cpu_cgroups(worker, children)
        before = [len(runtime.api.get(f"/api/v1/sessions/{sid}").json()["history"]) for sid in sessions]
        with serve(runtime.api.client.app) as base:
            probes = asyncio.run(probe_healthz(base, PROBE_S))
        after = [len(runtime.api.get(f"/api/v1/sessions/{sid}").json()["history"]) for sid in sessions]
    finally:
        for sid in sessions:
            runtime.api.post(f"/api/v1/sessions/{sid}/abort")
    latencies = sorted(latency for _, latency in probes)
    print(
        f"\n/healthz under two trainings: {len(probes)} probes, median {latencies[len(latencies) // 2] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms; epochs meanwhile {[a - b for a, b in zip(after, before, strict=True)]}"
    )
    assert {status for status, _ in probes} == {200}
    assert len(probes) >= PROBE_S / 0.5, "the probe itself was starved"
    assert latencies[-1] < 1.0, latencies[-5:]
    assert all(a > b for a, b in zip(after, before, strict=True)), "the trainings were starved"
    for sid in sessions:
        assert runtime.wait(sid, timeout=60)["status"] == "aborted"
