"""Load abuse, bounded: SSE fan-out, 45 concurrent dry runs with no worker and big bodies at once, on real uvicorn.

/healthz answers within 1 s throughout, nothing answers 500, and every cap gives its slots back. The abusers run in
a process of their own, as real clients do, so the probe times the server, not a client loop it shares.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import helpers
from tests.conftest import configure
from tests.helpers import ROOT
from tests.security.support import SMALL_CSV
from tests.server.api.load_client import post_dry_run
from tests.server.api.support import API, expect, serve, upload

DRY_RUNS = 45
WRITERS = 5
STREAMS = 40
BIG_BODIES = 6


@pytest.fixture
def live(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The app on uvicorn, a queued session to watch, an ML task to dry-run, and no worker anywhere."""
    configure(
        monkeypatch,
        api.settings.home,
        sse_max_streams="30",
        sse_max_per_user="12",
        dry_run_max_waiting="8",
        dry_run_max_per_user="3",
        dry_run_wait_s="3",
    )
    expect(api.post(f"{API}/projects", json={"key": "ABUSE", "name": "abuse"}), 201)
    ds = expect(upload(api, "ABUSE", "small", SMALL_CSV, "small.csv"), 201)
    an = expect(api.post(f"{API}/projects/ABUSE/analyses", json={"dataset_id": ds["id"], "name": "an"}), 201)
    mt = expect(api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "label"}), 201)
    session = expect(api.post(f"{API}/ml-tasks/{mt['id']}/train", json={}), 202)
    writers = [api.user(f"writer{i}", "ABUSE", "writer") for i in range(WRITERS)]
    with serve(api.client.app) as base:
        yield {"base": base, "sid": session["id"], "mt": mt["id"], "writers": writers}


class Probe:
    """Times GET /healthz every 0.1 s, from a thread of its own, until stopped."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                start = time.monotonic()
                r = client.get(f"{self.base}/healthz")
                self.latencies.append(time.monotonic() - start)
                self.statuses.append(r.status_code)
                self.stop.wait(0.1)  # pacing: one probe every 0.1 s


def _scenario(live: dict[str, Any]) -> dict[str, Any]:
    """The abusers in a process of their own (tests/server/api/load_client.py) while the probe times /healthz."""
    probe = Probe(live["base"])
    probe.thread.start()
    spec = {"live": live, "streams": STREAMS, "dry_runs": DRY_RUNS, "bodies": BIG_BODIES}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.server.api.load_client"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=150,
            cwd=ROOT,
        )
    finally:
        probe.stop.set()
        probe.thread.join(10)
    assert done.returncode == 0, done.stderr[-4000:]
    return {**json.loads(done.stdout), "probe": probe}


def test_sse_dry_runs_and_big_bodies_together_keep_healthz_fast(live: dict[str, Any]) -> None:
    from server.services import dry_run
    from server.services.session_events import slots

    out = _scenario(live)
    probe = out["probe"]
    assert len(probe.latencies) >= 10 and set(probe.statuses) == {200}
    assert max(probe.latencies) < 1.0, sorted(probe.latencies)[-5:]
    assert set(out["dry"]) <= {202, 429, 503} and 202 in out["dry"], out["dry"]
    assert out["dry"].count(202) <= 8  # at most FITSTUDIO_DRY_RUN_MAX_WAITING waited at once
    assert 500 not in out["streams"] and set(out["streams"]) <= {200, 429, 503}, out["streams"]
    assert out["streams"].count(200) <= 30
    assert set(out["bodies"]) <= {0, 401, 413}, out["bodies"]
    assert dry_run.slots.waiting() == 0
    helpers.wait_for(lambda: slots.open_streams() == 0, 10, "every stream slot to be given back", every=0.1)


def test_waiting_dry_runs_hold_no_request_connection(live: dict[str, Any]) -> None:
    from server.db import get_engine
    from server.services import dry_run

    async def run() -> tuple[int, list[int]]:
        async with httpx.AsyncClient(timeout=30) as client:
            tasks = [asyncio.create_task(post_dry_run(client, live, i)) for i in range(6)]
            deadline = time.monotonic() + 10
            while dry_run.slots.waiting() < 6 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # time passes on purpose: every request is past its insert, polling
            checked_out = get_engine().pool.checkedout()  # type: ignore[attr-defined]
            return checked_out, await asyncio.gather(*tasks)

    checked_out, statuses = asyncio.run(asyncio.wait_for(run(), 60))
    assert statuses == [202] * 6
    assert checked_out == 0
