"""Benchmark 5: GET /sessions/{id} at 200 requests/s for 60 s while two trainings run; p50/p99 and errors.

    .venv/bin/python bench/api_load.py [--quick] [--rate 200] [--duration 60] [--baseline 15]
        [--mixed [--views 200,1000] [--upload-rows 1000000]]

A real `fitstudio api` (uvicorn, one process) and one real worker running two trainings at once (a tabular MLP,
20k rows, many epochs, aborted after the load) on a fresh FITSTUDIO_HOME, all on 127.0.0.1. The load generator
is open-loop: request i is due at t0 + i/rate whatever the earlier ones did, so a slow server cannot slow the
offered load down (its backlog shows as latency); 32 keep-alive connections on raw asyncio streams serve the
queue (httpx's pool spends O(backlog) CPU per request once a backlog forms, which made the generator the
bottleneck). Bounded in count (rate × duration) and time (5 s per request: slower counts as an error; what is
not done 7 s after the last due time is "unfinished"). Latency is from the due time (client-side lag included)
and from the actual send. A baseline at the same rate with no worker and no training comes first. Beside each
load: the same requests as the API timed them (its /metrics histogram, read before and after: routing to response
sent, not the wait for its event loop) and the generator's own lag (a 5 ms sleep's lateness), so that a tail
outside the handler shows as such.
`--mixed` (issue 23) also runs the load with results-page views and uploads going on (bench/background_load.py,
a separate process), once per size in `--views`: an ML task with that many ended sessions (made as
bench/session_lists.py makes them) has its results page viewed once a second with the selected session's log,
and a `--upload-rows` x 20 CSV (bench/ingest.py's file) is uploaded back to back. Each size runs after the idle
baseline (no worker, no training) and again after the trainings-only load (two trainings), all in one run,
written to api_load_mixed.json (api_load.json stays the plain run's).
Target: p99 <= 50 ms, no error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, base_args, percentile, show, wait, write_result  # noqa: E402
from bench.datasets import tabular_csv  # noqa: E402
from bench.stack import Stack  # noqa: E402

TIMEOUT_S = 5.0
SLOW_S = 0.05  # the target's p99
CONNECTIONS = 32
TICK_S = 0.005  # the generator's lag probe
SESSION_GET = 'method="GET",route="/api/v1/sessions/{session_id}"'


async def _load(base_url: str, token: str, paths: list[str], rate: float, duration: float) -> dict[str, Any]:
    """Open loop: a scheduler queues request i at t0 + i/rate; CONNECTIONS keep-alive connections serve the queue."""
    loop = asyncio.get_running_loop()
    host, port = base_url.removeprefix("http://").split(":")
    due_lat: list[float] = []
    sent_lat: list[float] = []
    slow_at: list[float] = []  # when (seconds into the run) the requests slower than SLOW_S were due
    errors: dict[str, int] = {}
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    n = int(rate * duration)
    requests = [
        (
            f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
        for p in paths
    ]

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (item := await queue.get()) is not None:
                i, due = item
                sent = loop.time()
                try:
                    writer.write(requests[i % len(requests)])
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S)
                    length = next(
                        int(ln.split(b":")[1])
                        for ln in head.split(b"\r\n")
                        if ln.lower().startswith(b"content-length:")
                    )
                    await asyncio.wait_for(reader.readexactly(length), TIMEOUT_S)
                except (OSError, asyncio.IncompleteReadError, StopIteration, TimeoutError) as exc:
                    error(type(exc).__name__)
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                    continue
                end = loop.time()
                status = head.split(b" ", 2)[1].decode()
                if status != "200":
                    error(f"HTTP {status}")
                elif end - due > TIMEOUT_S:
                    error(f"slower than {TIMEOUT_S:g}s")
                else:
                    due_lat.append(end - due)
                    sent_lat.append(end - sent)
                    if end - due > SLOW_S:
                        slow_at.append(due - t0)
        finally:
            writer.close()

    lags: list[float] = []

    async def ticker() -> None:
        """The generator's own lag: how late a 5 ms sleep wakes (a stalled generator delays what it measures)."""
        while True:
            before = loop.time()
            await asyncio.sleep(TICK_S)
            lags.append(loop.time() - before - TICK_S)

    cpu0, t0, started = time.process_time(), loop.time(), time.time()
    lag_task = asyncio.create_task(ticker())
    workers = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
    for i in range(n):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, t0 + i / rate))
    for _ in workers:
        queue.put_nowait(None)
    _, pending = await asyncio.wait(workers, timeout=TIMEOUT_S + 2)  # bounded: what is left then is unfinished
    for task in pending:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    lag_task.cancel()
    unfinished = n - len(due_lat) - sum(errors.values())
    if unfinished:
        errors["unfinished"] = unfinished
    wall, cpu = loop.time() - t0, time.process_time() - cpu0
    ms = 1000.0
    return {
        "requests": n,
        "ok": len(due_lat),
        "errors": errors,
        "error_count": n - len(due_lat),
        "wall_s": wall,
        "connections": CONNECTIONS,
        "achieved_rps": len(due_lat) / wall if wall else 0.0,
        "generator_cpu_share": cpu / wall if wall else 0.0,
        "p50_ms": percentile(due_lat, 50) * ms,
        "p90_ms": percentile(due_lat, 90) * ms,
        "p99_ms": percentile(due_lat, 99) * ms,
        "max_ms": max(due_lat, default=float("nan")) * ms,
        "p50_sent_ms": percentile(sent_lat, 50) * ms,
        "p99_sent_ms": percentile(sent_lat, 99) * ms,
        "slow_per_second": _per_second(slow_at, wall),
        "generator_lag_p99_ms": percentile(lags, 99) * ms,
        "generator_lag_max_ms": max(lags, default=float("nan")) * ms,
        "generator_stalls_over_50ms": sum(lag > SLOW_S for lag in lags),
        "started_unix": started,  # when the first request was due (time.time()), to line slow_per_second up
    }


def _per_second(times: list[float], wall: float) -> list[int]:
    """How many of TIMES fall in each second of the run: whether slow requests come in bursts, and when."""
    counts = [0] * (int(wall) + 1)
    for t in times:
        counts[min(len(counts) - 1, max(0, int(t)))] += 1
    return counts


def load(
    stack: Stack, session_ids: list[int], rate: float, duration: float, profile: Path | None = None
) -> dict[str, Any]:
    """Run the open-loop load on GET /sessions/{id} (alternating over SESSION_IDS); with the API's CPU time per
    request, and (PROFILE) py-spy samples of the API process during the load."""
    import psutil

    assert stack.api_proc is not None
    api = psutil.Process(stack.api_proc.pid)
    paths = [f"/api/v1/sessions/{sid}" for sid in session_ids]
    spy = None
    if profile is not None:
        spy = subprocess.Popen(
            [
                str(Path(PY).with_name("py-spy")),
                "record",
                "--pid",
                str(api.pid),
                "--rate",
                "200",
                "--duration",
                str(int(duration)),
                "--format",
                "raw",
                "--output",
                str(profile),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    cpu0, seen0 = sum(api.cpu_times()[:2]), api_side_latency(stack)
    result = asyncio.run(_load(stack.base_url, stack.token, paths, rate, duration))
    result["api_cpu_ms_per_request"] = (sum(api.cpu_times()[:2]) - cpu0) * 1000 / max(1, result["requests"])
    result["api_side"] = api_side_delta(seen0, api_side_latency(stack))
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if spy is not None:
        spy.wait(timeout=60)
        result["api_profile"] = api_profile(profile) if profile and profile.exists() else None
    return result


def training_steps(stack: Stack, ids: list[int]) -> int:
    """The training steps the sessions IDS have run so far (from their progress: epoch x batches + batch)."""
    total = 0
    for sid in ids:
        progress = stack.session(sid)["progress"] or {}
        total += int(progress.get("epoch") or 0) * int(progress.get("batches") or 0) + int(progress.get("batch") or 0)
    return total


def api_side_latency(stack: Stack) -> dict[str, float]:
    """The API's own latency histogram for GET /sessions/{id} (its /metrics): cumulative count per bucket bound."""
    import httpx

    text = httpx.get(f"{stack.base_url}/metrics", timeout=30).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("fitstudio_http_request_duration_seconds_bucket{") and SESSION_GET in line:
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            counts[bound] = float(line.rsplit(" ", 1)[1])
    return counts


def api_side_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """The load's requests as the API timed them (from routing to the response sent): how many took over 50 ms,
    and the bucket bound under which 99 % finished. Time waiting for the API's event loop is not in it."""
    delta = {bound: after.get(bound, 0.0) - before.get(bound, 0.0) for bound in after}
    total = delta.get("+Inf", 0.0)
    finite = sorted((float(b), n) for b, n in delta.items() if b != "+Inf")
    p99 = next((b for b, n in finite if total and n >= 0.99 * total), float("inf"))
    over = total - delta.get(str(SLOW_S), total)
    return {"requests": total, "over_50ms": over, "p99_bucket_ms": p99 * 1000}


def api_profile(raw: Path) -> dict[str, float]:
    """Share of the API's busy samples spent under each fitstudio server function (inclusive), top 15."""
    inclusive: dict[str, int] = {}
    busy = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or frames[-1].startswith(("Condition.wait", "Runner.run", "WorkerThread.run")):
            continue  # idle threads and the idle event loop
        busy += int(count)
        names = {f.split(":")[0] for f in frames if "(server/" in f or "(webui/" in f}
        for name in names:
            inclusive[name] = inclusive.get(name, 0) + int(count)
    top = sorted(inclusive.items(), key=lambda kv: -kv[1])[:15]
    return {"busy_samples": busy, **{k: v / busy for k, v in top}} if busy else {}


def renice_children(worker_pid: int, nice: int) -> None:
    """Set the niceness of every thread of the worker's descendants (the training children) to NICE."""
    import psutil

    for child in psutil.Process(worker_pid).children(recursive=True):
        for thread in child.threads():
            try:
                os.setpriority(os.PRIO_PROCESS, thread.id, nice)
            except OSError:
                pass


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of load with no training first")
    parser.add_argument("--profile", action="store_true", help="py-spy the API during the load (pip install py-spy)")
    parser.add_argument(
        "--renice",
        type=int,
        default=0,
        help="experiment: renice every thread of the training children to N before the load",
    )
    parser.add_argument("--mixed", action="store_true", help="also with results-page views and uploads going on")
    parser.add_argument("--views", default=None, help="--mixed: sessions of the viewed ML task, one load each")
    parser.add_argument("--upload-rows", type=int, default=None, help="--mixed: rows of the uploaded CSV")
    return parser.parse_args(argv)


def mixed(
    stack: Stack,
    ids: list[int],
    tasks: list[dict[str, Any]],
    big: Path,
    rate: float,
    duration: float,
    label: str,
    profile: bool,
) -> list[dict[str, Any]]:
    """The load on IDS again for each of TASKS, with that task's results page viewed and BIG uploaded meanwhile;
    LABEL names the phase (and its py-spy files with PROFILE)."""
    from bench.background_load import Background

    out = []
    for task in tasks:
        n = task["sessions"]
        print(f"{label}: page views ({n} sessions) and uploads; {rate:g} req/s for {duration:g}s...", flush=True)
        background = Background(stack, task["id"], task["page_session_ids"], big, duration)
        background.go()
        res = load(
            stack,
            ids,
            rate,
            duration,
            stack.folder / f"api-{label.replace(' ', '-')}-{n}.pyspy.txt" if profile else None,
        )
        res["background"] = background.result()  # after the upload in flight: the next load starts clean
        res["sessions_in_task"] = n
        out.append(res)
    return out


def _rows(label: str, res: dict[str, Any]) -> list[tuple[str, Any]]:
    """The table's rows for one load."""
    rows: list[tuple[str, Any]] = [
        (
            f"{label}: p50 / p90 / p99 / max (ms)",
            f"{res['p50_ms']:.1f} / {res['p90_ms']:.1f} / {res['p99_ms']:.1f} / {res['max_ms']:.1f}",
        ),
        (f"{label}: p99 from send (ms)", res["p99_sent_ms"]),
        (
            f"{label}: as the API timed them: over 50 ms; p99 under (ms)",
            f"{res['api_side']['over_50ms']:g}; {res['api_side']['p99_bucket_ms']:g}",
        ),
        (
            f"{label}: the generator's lag p99 / max (ms); stalls over 50 ms",
            f"{res['generator_lag_p99_ms']:.1f} / {res['generator_lag_max_ms']:.1f}; "
            f"{res['generator_stalls_over_50ms']}",
        ),
        (f"{label}: API CPU per request (ms)", res["api_cpu_ms_per_request"]),
        (f"{label}: errors / requests", f"{res['error_count']} / {res['requests']} {res['errors']}"),
        (
            f"{label}: achieved req/s; generator CPU share; load average after",
            f"{res['achieved_rps']:.1f}; {res['generator_cpu_share']:.2f}; {res['loadavg_after']}",
        ),
    ]
    if bg := res.get("background"):
        v, u = bg["views"], bg["uploads"]
        rows += [
            (
                f"{label}: page views ok / done, page p50 / p99 / max (ms), {v['page_bytes']} bytes",
                f"{v['ok']} / {v['views']}, {v['page']['p50_ms']:.0f} / {v['page']['p99_ms']:.0f} / "
                f"{v['page']['max_ms']:.0f} {v['errors'] or ''}",
            ),
            (
                f"{label}: uploads ok / started ({u['file_mib']:.0f} MiB), each (s)",
                f"{u['ok']} / {u['uploads']}, {', '.join(f'{s:.1f}' for s in u['each_s'])} {u['errors'] or ''}",
            ),
        ]
    if "training_steps_per_s" in res:
        rows.append((f"{label}: the trainings' steps per second", res["training_steps_per_s"]))
    for name, share in (res.get("api_profile") or {}).items():
        rows.append((f"  API busy time under {name}", f"{share:.1%}" if isinstance(share, float) else share))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    rate, duration, baseline_s = (args.rate, 5.0, 3.0) if args.quick else (args.rate, args.duration, args.baseline)
    views = [int(n) for n in (args.views or ("60" if args.quick else "200,1000")).split(",")] if args.mixed else []
    upload_rows = args.upload_rows or (40_000 if args.quick else 1_000_000)
    with Stack("api-load", keep=args.keep) as stack:
        stack.start_api()
        stack.project()
        ds = stack.upload(tabular_csv(stack.folder / "t.csv", 2_000 if args.quick else 20_000), "t")
        tasks, big = [], stack.folder / "big.csv"
        if views:  # made before any worker runs: their first sessions are aborted while queued
            from bench.background_load import many_sessions_task
            from bench.ingest import wide_csv

            tasks = [many_sessions_task(stack, ds["id"], "label", n) for n in views]
            wide_csv(big, upload_rows)
        no_stop = {"enabled": False, "patience": 3}  # it must train through the load: no early stop
        task = stack.ml_task(
            ds["id"], "label", {"training": {"epochs": 500, "batch_size": 32, "early_stopping": no_stop}}
        )
        first = stack.train(task["id"])  # queued: no worker yet, so the baseline runs on an idle machine
        baseline = load(stack, [first["id"]], rate, baseline_s) if baseline_s > 0 else None
        if baseline:
            print(f"baseline (no worker, no training): p99 {baseline['p99_ms']:.1f} ms", flush=True)
        idle_mixed = mixed(stack, [first["id"]], tasks, big, rate, duration, "idle", args.profile)
        worker = stack.start_worker("load", concurrency=2)
        second = stack.train(task["id"])
        ids = [int(first["id"]), int(second["id"])]

        def both_training() -> bool:
            return all((stack.session(i)["progress"] or {}).get("batch") for i in ids)

        wait(both_training, 600, "both trainings to reach their first batch", every=1.0)
        if args.renice:
            renice_children(worker.pid, args.renice)
        print(f"two trainings running; {rate:g} req/s for {duration:g}s...", flush=True)
        steps0, t0 = training_steps(stack, ids), time.monotonic()
        under = load(stack, ids, rate, duration, stack.folder / "api.pyspy.txt" if args.profile else None)
        under["training_steps_per_s"] = (training_steps(stack, ids) - steps0) / (time.monotonic() - t0)
        loaded = mixed(stack, ids, tasks, big, rate, duration, "two trainings", args.profile)
        states = [stack.session(i)["status"] for i in ids]
        for i in ids:
            stack.call("POST", f"/sessions/{i}/abort", 202, json={})
        for i in ids:
            stack.wait_session(i, timeout=120)
    figures = {
        "rate": rate,
        "duration_s": duration,
        "under_training": under,
        "baseline_idle": baseline,
        "children_reniced_to": args.renice,
        "training_status_during_load": states,
    }
    if args.mixed:
        figures.update(views_sessions=views, upload_rows=upload_rows, training_nice=stack.settings.training_nice)
        figures.update(idle_views_uploads=idle_mixed, under_training_views_uploads=loaded)
    rows: list[tuple[str, Any]] = [("offered rate (req/s) x duration (s)", f"{rate:g} x {duration:g}")]
    labelled = [("idle baseline", baseline)]
    labelled += [(f"no training, views ({r['sessions_in_task']} sessions) + uploads", r) for r in idle_mixed]
    labelled += [("two trainings running", under)]
    labelled += [(f"trainings + views ({r['sessions_in_task']} sessions) + uploads", r) for r in loaded]
    for label, res in labelled:
        if res:
            rows += _rows(label, res)
    show("API under load (target: p99 <= 50 ms, 0 errors)", rows)
    write_result("api_load_mixed" if args.mixed else "api_load", args.quick, figures, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
