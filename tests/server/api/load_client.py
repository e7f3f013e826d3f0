"""The abusive clients of the load tests, importable without the suite (python -m tests.server.api.load_client).

Run as a script it plays the abuse scenario against a live server from its own process, as real clients do: the
test process keeps only the server and the /healthz probe, so what the probe times is the server's answer, not
the abusers' event loop or their share of the test process's GIL.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx

API = "/api/v1"


async def open_stream(client: httpx.AsyncClient, url: str, token: str, opened: list[int], stop: asyncio.Event) -> None:
    """Open one event stream, note its status, and hold it open until STOP."""
    async with client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as r:
        opened.append(r.status_code)
        if r.status_code != 200:
            await r.aread()
            return
        await stop.wait()  # held open; what the server sends meanwhile waits in the socket buffer


async def post_dry_run(client: httpx.AsyncClient, live: dict[str, Any], i: int) -> int:
    """One validate?dry_run=true as writer I % len(writers); its status."""
    writers = live["writers"]
    headers = {"Authorization": f"Bearer {writers[i % len(writers)]}"}
    url = f"{live['base']}{API}/ml-tasks/{live['mt']}/validate?dry_run=true"
    r = await client.post(url, json={}, headers=headers, timeout=30)
    assert r.headers["content-type"].startswith("application/json"), r.text
    return r.status_code


async def big_body(client: httpx.AsyncClient, live: dict[str, Any], i: int) -> int:
    """A 20 MiB JSON body, chunked (no Content-Length), half of them without a token; its status (0: cut off)."""

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


async def abuse(live: dict[str, Any], streams: int, dry_runs: int, bodies: int) -> dict[str, list[int]]:
    """STREAMS event streams, DRY_RUNS dry runs and BODIES big bodies at once; the statuses of each kind."""
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        stop, opened = asyncio.Event(), []
        url = f"{live['base']}{API}/sessions/{live['sid']}/events"
        writers = live["writers"]
        held = [asyncio.create_task(open_stream(client, url, writers[i % 3], opened, stop)) for i in range(streams)]
        dry = [asyncio.create_task(post_dry_run(client, live, i)) for i in range(dry_runs)]
        big = [asyncio.create_task(big_body(client, live, i)) for i in range(bodies)]
        dry_statuses = await asyncio.gather(*dry)
        body_statuses = await asyncio.gather(*big)
        await asyncio.sleep(0.5)  # time passes on purpose: the streams stay open while the probe goes on
        stop.set()
        await asyncio.gather(*held)
    return {"dry": list(dry_statuses), "bodies": list(body_statuses), "streams": opened}


def main() -> None:
    """Read the scenario as JSON on stdin ({live, streams, dry_runs, bodies}); print the statuses as JSON."""
    spec = json.load(sys.stdin)
    out = asyncio.run(asyncio.wait_for(abuse(spec["live"], spec["streams"], spec["dry_runs"], spec["bodies"]), 120))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
