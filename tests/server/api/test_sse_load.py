"""Live event streams are bounded: 60 at once keep /healthz fast and the request pool free; caps answer 429/503."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import helpers
from tests.conftest import configure
from tests.security.support import SMALL_CSV
from tests.server.api.load_client import open_stream
from tests.server.api.support import API, expect, serve, upload

USERS = 3
PER_USER = 20


@pytest.fixture
def live(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The app served by uvicorn on a local port, with a queued session that USERS readers may watch."""
    configure(monkeypatch, api.settings.home, sse_max_streams=str(USERS * PER_USER), sse_max_per_user=str(PER_USER))
    expect(api.post(f"{API}/projects", json={"key": "SSE", "name": "sse"}), 201)
    ds = expect(upload(api, "SSE", "small", SMALL_CSV, "small.csv"), 201)
    an = expect(api.post(f"{API}/projects/SSE/analyses", json={"dataset_id": ds["id"], "name": "an"}), 201)
    mt = expect(api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "label"}), 201)
    session = expect(api.post(f"{API}/ml-tasks/{mt['id']}/train", json={}), 202)
    tokens = [api.user(f"viewer{i}", "SSE", "reader") for i in range(USERS + 1)]
    with serve(api.client.app) as base:
        yield {"base": base, "sid": session["id"], "tokens": tokens}


async def _scenario(live: dict[str, Any]) -> dict[str, Any]:
    url = f"{live['base']}{API}/sessions/{live['sid']}/events"
    stop = asyncio.Event()
    opened: list[int] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        tasks = [
            asyncio.create_task(open_stream(client, url, live["tokens"][i % USERS], opened, stop))
            for i in range(USERS * PER_USER)
        ]
        deadline = time.monotonic() + 30
        while len(opened) < len(tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        latencies, statuses = [], []
        for _ in range(10):
            start = time.monotonic()
            health = await client.get(f"{live['base']}/healthz")
            latencies.append(time.monotonic() - start)
            projects = await client.get(
                f"{live['base']}{API}/projects", headers={"Authorization": f"Bearer {live['tokens'][0]}"}
            )
            statuses += [health.status_code, projects.status_code]
            await asyncio.sleep(0.1)  # pacing: ten probes spread over a second while the streams are open
        extra_user = await client.get(url, headers={"Authorization": f"Bearer {live['tokens'][0]}"})
        extra_process = await client.get(url, headers={"Authorization": f"Bearer {live['tokens'][USERS]}"})
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
    return {"opened": opened, "latencies": latencies, "statuses": statuses, "extra": (extra_user, extra_process)}


def test_sixty_live_streams_keep_healthz_fast_and_caps_answer_json(live: dict[str, Any]) -> None:
    from server.services.session_events import slots

    out = asyncio.run(asyncio.wait_for(_scenario(live), 90))
    assert out["opened"] == [200] * (USERS * PER_USER)
    assert max(out["latencies"]) < 1.0, out["latencies"]
    assert set(out["statuses"]) == {200}
    per_user, per_process = out["extra"]
    assert per_user.status_code == 429 and per_user.json()["code"] == "too_many_streams"
    assert per_process.status_code == 503 and per_process.json()["code"] == "too_many_streams"
    # every slot was given back when its client left
    helpers.wait_for(lambda: slots.open_streams() == 0, 10, "every stream slot to be given back", every=0.1)


def test_streams_do_not_use_the_request_pool(live: dict[str, Any]) -> None:
    from server.db import get_engine

    async def run() -> int:
        url = f"{live['base']}{API}/sessions/{live['sid']}/events"
        stop = asyncio.Event()
        opened: list[int] = []
        async with httpx.AsyncClient(timeout=30) as client:
            tasks = [
                asyncio.create_task(open_stream(client, url, live["tokens"][i % USERS], opened, stop))
                for i in range(30)
            ]
            while len(opened) < 30:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # time passes on purpose: a few polls each, none may hold a pooled connection
            checked_out = get_engine().pool.checkedout()  # type: ignore[attr-defined]
            stop.set()
            await asyncio.gather(*tasks)
        return checked_out

    assert asyncio.run(asyncio.wait_for(run(), 60)) == 0
