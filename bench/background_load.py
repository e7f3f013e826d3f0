"""What goes on beside the polling in `bench/api_load.py --mixed` (issue 23): results-page views and CSV uploads.

    .venv/bin/python bench/background_load.py --base-url URL --token T --user U --password P --task ID \
        --sessions 3,4,5 --file big.csv --duration 60 --out background.json

Run by api_load.py as a separate process, so that neither activity shares the load generator's interpreter
(its GIL would delay the generator, and that delay would count as the API's latency). It logs in to the web UI
and prints "ready"; on a line on stdin it runs, for DURATION seconds:
- a results-page view once a second (due at t0 + i; a view late because the previous one was slow starts at
  once): `GET /ml-tasks/{task}?session={id}` as the browser loads it, the selected session taken in turn from
  SESSIONS (the page's rows, so each view renders a different session's detail and history), then what the
  page fetches for that session: its log (`GET /api/v1/sessions/{id}/log`, read when its log box opens);
- uploads of FILE through `POST /api/v1/projects/BENCH/datasets`, one after another (httpx streams it from
  disk); the upload in flight when the time is up is finished, not cut, and counted.
Then it writes the figures as JSON to OUT and exits. Every non-2xx answer or transport error is an error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PROJECT, PY, percentile  # noqa: E402

PAGE_TIMEOUT_S = 30.0
UPLOAD_TIMEOUT_S = 600.0
ACTIVITIES = "views,uploads"


def _spread(seconds: list[float]) -> dict[str, float]:
    """p50 / p99 / max of SECONDS, in ms."""
    return {
        "p50_ms": percentile(seconds, 50) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "max_ms": max(seconds, default=float("nan")) * 1000,
    }


def _error(errors: dict[str, int], kind: str) -> None:
    errors[kind] = errors.get(kind, 0) + 1


def login(base_url: str, user: str, password: str) -> Any:
    """An httpx client logged in to the web UI as USER (the password check is slow on purpose: done before the
    timed window)."""
    import httpx

    web = httpx.Client(base_url=base_url, timeout=PAGE_TIMEOUT_S, headers={"accept": "text/html"})
    r = web.post("/login", data={"username": user, "password": password}, follow_redirects=False)
    if r.status_code != 303:
        raise RuntimeError(f"login: {r.status_code} {r.text[:300]}")
    return web


def views(web: Any, task: str, sessions: list[int], stop_at: float) -> dict[str, Any]:
    """Results-page views once a second until STOP_AT (time.monotonic), each with its selected session's log, by
    the logged-in client WEB."""
    import httpx

    page_s: list[float] = []
    log_s: list[float] = []
    view_s: list[float] = []
    late_s: list[float] = []
    page_bytes = 0
    errors: dict[str, int] = {}
    try:
        t0, i = time.monotonic(), 0
        while (due := t0 + i) < stop_at:
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            late_s.append(time.monotonic() - due)
            sid = sessions[i % len(sessions)]
            i += 1
            start = time.monotonic()
            try:
                r = web.get(f"/ml-tasks/{task}", params={"session": sid})
                page_end = time.monotonic()
                if r.status_code != 200:
                    _error(errors, f"page HTTP {r.status_code}")
                    continue
                page_bytes = len(r.content)
                log = web.get(f"/api/v1/sessions/{sid}/log")
                if log.status_code != 200:
                    _error(errors, f"log HTTP {log.status_code}")
                    continue
            except httpx.HTTPError as exc:
                _error(errors, type(exc).__name__)
                continue
            end = time.monotonic()
            page_s.append(page_end - start)
            log_s.append(end - page_end)
            view_s.append(end - start)
    finally:
        web.close()
    return {
        "views": i,
        "ok": len(view_s),
        "errors": errors,
        "page_bytes": page_bytes,
        "page": _spread(page_s),
        "log": _spread(log_s),
        "view": _spread(view_s),
        "late_start_max_s": max(late_s, default=0.0),
    }


def uploads(base_url: str, token: str, path: Path, stop_at: float) -> dict[str, Any]:
    """Upload PATH as a new dataset again and again until STOP_AT; the one in flight then is finished."""
    import httpx

    done: list[dict[str, Any]] = []
    errors: dict[str, int] = {}
    name = f"background-{os.getpid()}"  # each process's datasets have their own names
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url + "/api/v1", timeout=UPLOAD_TIMEOUT_S, headers=headers) as api:
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            start = time.monotonic()
            try:
                with open(path, "rb") as fh:
                    files = {"file": (path.name, fh, "application/octet-stream")}
                    r = api.post(f"/projects/{PROJECT}/datasets", data={"name": f"{name}-{n}"}, files=files)
            except httpx.HTTPError as exc:
                _error(errors, type(exc).__name__)
                continue
            seconds = time.monotonic() - start
            if r.status_code != 201:
                _error(errors, f"HTTP {r.status_code}")
                continue
            done.append(
                {"s": seconds, "n_rows": r.json().get("n_rows"), "ended_after_window": time.monotonic() > stop_at}
            )
    size = path.stat().st_size
    seconds = [u["s"] for u in done]
    return {
        "uploads": n,
        "ok": len(done),
        "errors": errors,
        "file_mib": size / 2**20,
        "rows": done[0]["n_rows"] if done else None,
        "each_s": seconds,
        "mib_per_s": [size / 2**20 / s for s in seconds],
        "done": done,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both activities side by side for ARGS.duration seconds, once a line arrives on stdin."""
    results: dict[str, Any] = {}
    sessions = [int(s) for s in args.sessions.split(",")]

    web = login(args.base_url, args.user, args.password)

    failed: list[BaseException] = []

    def views_thread(stop_at: float) -> None:
        try:
            results["views"] = views(web, args.task, sessions, stop_at)
        except BaseException as exc:
            failed.append(exc)

    def uploads_thread(stop_at: float) -> None:
        try:
            results["uploads"] = uploads(args.base_url, args.token, Path(args.file), stop_at)
        except BaseException as exc:
            failed.append(exc)

    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.monotonic()
    stop_at = t0 + args.duration
    chosen = {"views": views_thread, "uploads": uploads_thread}
    threads = [threading.Thread(target=chosen[a], args=(stop_at,)) for a in args.activities.split(",")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:  # no figures from half a run: api_load.py stops with this
        raise failed[0]
    results["wall_s"] = time.monotonic() - t0
    return results


def many_sessions_task(stack: Any, dataset_id: int, target: str, n: int, seed: int = 23) -> dict[str, Any]:
    """An ML task with N ended sessions made as bench/session_lists.py makes them: one submitted through the API
    (aborted while queued: no worker trains it), the rest copies of it written into SQL; its id and the ids of
    the results page's rows (its newest PAGE_SIZE sessions)."""
    import random

    from bench.session_lists import grow
    from webui.pages.sessions import PAGE_SIZE

    task = stack.ml_task(dataset_id, target)
    first = stack.train(task["id"])
    stack.call("POST", f"/sessions/{first['id']}/abort", 202, json={})
    grow({"first": int(first["id"]), "count": 1}, n, random.Random(seed))
    page = stack.call("GET", f"/ml-tasks/{task['id']}/sessions", params={"limit": PAGE_SIZE})
    return {"id": task["id"], "sessions": n, "page_session_ids": [int(s["id"]) for s in page]}


class Background:
    """api_load.py's handle on a background process: started (logged in), `go()` at the load's start, `result()`
    after it (waits for the upload in flight to finish)."""

    def __init__(
        self, stack: Any, task: str, sessions: list[int], file: Path, duration: float, activities: str = ACTIVITIES
    ) -> None:
        self.out = stack.folder / f"background-{task}-{activities.replace(',', '-')}.json"
        cmd = [PY, str(Path(__file__).resolve()), "--base-url", stack.base_url, "--token", stack.token]
        cmd += ["--user", "bench", "--password", "bench-pw-1", "--task", task]
        cmd += ["--sessions", ",".join(map(str, sessions)), "--file", str(file), "--duration", str(duration)]
        cmd += ["--out", str(self.out), "--activities", activities]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"background load did not start: {line!r}")

    def go(self) -> None:
        """Start the views and uploads."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        """The figures, once the process has ended."""
        if self.proc.wait(timeout=UPLOAD_TIMEOUT_S + 60) != 0:
            raise RuntimeError(f"background load exited {self.proc.returncode}")
        return dict(json.loads(self.out.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--base-url", "--token", "--user", "--password", "--task", "--sessions", "--file", "--out"):
        parser.add_argument(name, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--activities", default=ACTIVITIES, help="which of views,uploads to run")
    args = parser.parse_args(argv)
    Path(args.out).write_text(json.dumps(run(args), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
