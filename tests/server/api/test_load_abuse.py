"""Load abuse, bounded: SSE fan-out, 45 concurrent dry runs with no worker and big bodies at once, on real uvicorn.

/healthz answers within 1 s throughout, nothing answers 500, and every cap gives its slots back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests import helpers
from tests.conftest import configure
from tests.security.support import SMALL_CSV
from tests.server.api.support import API, expect, serve, upload
from tests.server.api.test_sse_load import _open

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
    """Times GET /healthz every 0.1 s until stopped."""

    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client, self.base = client, base
        self.latencies: list[float] = []
        self.statuses: list[int] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            r = await self.client.get(f"{self.base}/healthz", timeout=5)
            self.latencies.append(time.monotonic() - start)
            self.statuses.append(r.status_code)
            await asyncio.sleep(0.1)  # pacing: one probe every 0.1 s


async def post_dry_run(client: httpx.AsyncClient, live: dict[str, Any], i: int) -> int:
    """One validate?dry_run=true as writer I % WRITERS; its status."""
    headers = {"Authorization": f"Bearer {live['writers'][i % WRITERS]}"}
    url = f"{live['base']}{API}/ml-tasks/{live['mt']}/validate?dry_run=true"
    r = await client.post(url, json={}, headers=headers, timeout=30)
    assert r.headers["content-type"].startswith("application/json"), r.text
    return r.status_code


async def big_body(client: httpx.AsyncClient, live: dict[str, Any], i: int) -> int:
    """A 20 MiB JSON body, chunked (no Content-Length), half of them without a token; its status."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"key": "BIG", "name": "'
        for _ in range(320):
            yield b"x" * 65536
            await asyncio.sleep(0)
        yield b'"}'

    headers = {"content-type": "application/json"}
    if i % 2:
        headers["Authorization"] = f"Bearer {live['writers'][0]}"
    try:
        r = await client.post(f"{live['base']}{API}/projects", content=chunks(), headers=headers, timeout=30)
    except httpx.HTTPError:  # the server may close the connection once it has answered 401/413
        return 0
    return r.status_code


async def _scenario(live: dict[str, Any]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        probe = Probe(client, live["base"])
        probing = asyncio.create_task(probe.run())
        stop, opened = asyncio.Event(), []
        url = f"{live['base']}{API}/sessions/{live['sid']}/events"
        streams = [
            asyncio.create_task(_open(client, url, live["writers"][i % 3], opened, stop)) for i in range(STREAMS)
        ]
        dry = [asyncio.create_task(post_dry_run(client, live, i)) for i in range(DRY_RUNS)]
        bodies = [asyncio.create_task(big_body(client, live, i)) for i in range(BIG_BODIES)]
        dry_statuses = await asyncio.gather(*dry)
        body_statuses = await asyncio.gather(*bodies)
        await asyncio.sleep(0.5)  # time passes on purpose: the probe times /healthz a moment more, streams open
        stop.set()
        await asyncio.gather(*streams)
        probe.stop.set()
        await probing
    return {"dry": dry_statuses, "bodies": body_statuses, "streams": opened, "probe": probe}


def test_sse_dry_runs_and_big_bodies_together_keep_healthz_fast(live: dict[str, Any]) -> None:
    from server.services import dry_run
    from server.services.session_events import slots

    out = asyncio.run(asyncio.wait_for(_scenario(live), 120))
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
