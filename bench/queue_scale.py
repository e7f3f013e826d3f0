"""Benchmark 6: 50 tiny sessions submitted at once to 2 workers: all end, none lost or run twice; total time.

    .venv/bin/python bench/queue_scale.py [--quick] [--sessions 50]

A real `fitstudio api` and two real `fitstudio worker` processes (one training each at a time) on a fresh
FITSTUDIO_HOME (SQLite + embedded broker). One ML task on a 300-row table, 2 epochs; SESSIONS trainings are
submitted back to back. Checked afterwards: every session succeeded; its history has epochs 1 and 2 exactly
once; its log shows one run (one "[fitstudio] inputs" line, one "done" line); one trained model per session;
the broker's queue folder is empty. Timed: first POST to last end, vs. the sum of the sessions' running times
(started_at → ended_at) and vs. that sum / 2 (perfect use of two workers).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import TERMINAL, base_args, median, show, wait, write_result  # noqa: E402
from bench.datasets import tabular_csv  # noqa: E402
from bench.stack import Stack  # noqa: E402

EPOCHS = 2


def _t(value: str) -> float:
    """An API timestamp as epoch seconds (naive ones are UTC)."""
    when = datetime.fromisoformat(value)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def check(stack: Stack, task_id: str, sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """The correctness findings for the ended SESSIONS (each a list of problems, empty when all is well)."""
    problems: list[str] = []
    for s in sessions:
        if s["status"] != "succeeded":
            problems.append(f"session {s['id']}: {s['status']} {(s.get('error') or {}).get('message')}")
        epochs = [h["epoch"] for h in s["history"]]
        if epochs != list(range(1, EPOCHS + 1)):
            problems.append(f"session {s['id']}: history epochs {epochs}")
        log = stack.session_log(s["id"])
        runs, done = log.count("[fitstudio] inputs:"), log.count("[fitstudio] done in")
        if runs != 1 or done != 1:
            problems.append(f"session {s['id']}: the log shows {runs} starts and {done} ends")
    models = stack.call("GET", f"/ml-tasks/{task_id}/trained-models")
    if len(models) != len(sessions) or len(set(models)) != len(models):
        problems.append(f"{len(models)} trained models ({len(set(models))} distinct) for {len(sessions)} sessions")
    queue = stack.settings.broker_folder / "queue"
    left = [p.name for p in queue.iterdir() if not p.name.startswith(".")] if queue.exists() else []
    if left:
        problems.append(f"{len(left)} messages left in the broker queue")
    return {"problems": problems, "trained_models": len(models), "broker_messages_left": len(left)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    n = 6 if args.quick else args.sessions
    with Stack("queue", keep=args.keep) as stack:
        stack.start_api()
        for i in range(args.workers):
            stack.start_worker(f"q{i + 1}")
        stack.project()
        ds = stack.upload(tabular_csv(stack.folder / "tiny.csv", 300), "tiny")
        task = stack.ml_task(ds["id"], "label", {"training": {"epochs": EPOCHS, "batch_size": 32}})
        t0 = time.time()
        ids = [int(stack.train(task["id"])["id"]) for _ in range(n)]
        submit_s = time.time() - t0
        print(f"{n} sessions submitted in {submit_s:.2f}s; waiting...", flush=True)

        def all_ended() -> list[dict[str, Any]] | None:
            rows = stack.call("GET", f"/ml-tasks/{task['id']}/sessions")
            return rows if sum(r["status"] in TERMINAL for r in rows) >= n else None

        rows = wait(all_ended, 120 + 60 * n, f"{n} sessions to end", every=2.0)
        sessions = sorted((r for r in rows if r["id"] in ids), key=lambda r: r["id"])
        findings = check(stack, task["id"], sessions)
    ran = [(_t(s["started_at"]), _t(s["ended_at"]), s["worker"]) for s in sessions if s["started_at"]]
    total = max(e for _, e, _ in ran) - t0
    busy = sum(e - s for s, e, _ in ran)
    per_worker: dict[str, list[tuple[float, float]]] = {}
    for s, e, w in ran:
        per_worker.setdefault(w, []).append((s, e))
    gaps = [b[0] - a[1] for spans in map(sorted, per_worker.values()) for a, b in zip(spans, spans[1:], strict=False)]
    figures = {
        "sessions": n,
        "workers": args.workers,
        "epochs": EPOCHS,
        "submit_s": submit_s,
        "total_s": total,
        "sum_running_s": busy,
        "ideal_s": busy / args.workers,
        "efficiency": busy / args.workers / total,
        "median_running_s": median(e - s for s, e, _ in ran),
        "median_gap_between_sessions_s": median(gaps),
        "per_worker": {w: len(v) for w, v in per_worker.items()},
        "statuses": {st: sum(s["status"] == st for s in sessions) for st in {s["status"] for s in sessions}},
        **findings,
    }
    show(
        "queue at scale",
        [
            ("sessions / workers", f"{n} / {args.workers}"),
            ("statuses", figures["statuses"]),
            ("sessions per worker", figures["per_worker"]),
            ("problems (lost, twice, failed)", len(findings["problems"])),
            ("first POST -> last end (s)", total),
            ("sum of running times (s)", busy),
            (f"sum / {args.workers} workers (s)", busy / args.workers),
            ("efficiency (sum / workers / total)", figures["efficiency"]),
            ("median running time per session (s)", figures["median_running_s"]),
            ("median gap, one session's end to the next start (s)", figures["median_gap_between_sessions_s"]),
        ],
    )
    for p in findings["problems"][:20]:
        print("  problem:", p)
    write_result("queue_scale", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
