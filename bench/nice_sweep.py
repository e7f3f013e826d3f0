"""The training niceness, both sides in one run: the API's latency under two trainings and a training's start on a
loaded host, per FITSTUDIO_TRAINING_NICE value (issue 23).

    .venv/bin/python bench/nice_sweep.py [--quick] [--nices 0,5,10,19] [--rate 200] [--duration 60] [--starts 2]

For each value, interleaved: (a) bench/api_load.py's load (GET /sessions/{id}, open loop, RATE req/s for
DURATION s) on a fresh stack whose worker runs two trainings with FITSTUDIO_TRAINING_NICE at that value (target
p99 <= 50 ms, no error); (b) bench/priority.py's start (a child in its own session at that niceness imports
TensorFlow and runs 20 training steps) with one busy normal-priority process per core, against the same start on
an idle host (target: within a few x of idle). Each phase records the load average after it and the share of the
CPU that processes outside this run used meanwhile (`foreign_cpu_share`). Written to bench/results/nice_sweep.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_load import load  # noqa: E402
from bench.common import Interference, median, show, wait, write_result  # noqa: E402
from bench.datasets import tabular_csv  # noqa: E402
from bench.priority import loaded, start_child  # noqa: E402
from bench.stack import Stack  # noqa: E402


def api_phase(nice: int, rate: float, duration: float, rows: int, baseline_s: float) -> dict[str, Any]:
    """The load on GET /sessions/{id} while two trainings at NICE run (and, BASELINE_S > 0, first with none)."""
    stack = Stack(f"nice-{nice}")
    stack.env["FITSTUDIO_TRAINING_NICE"] = str(nice)
    with stack:
        stack.start_api()
        stack.project()
        ds = stack.upload(tabular_csv(stack.folder / "t.csv", rows), "t")
        no_stop = {"enabled": False, "patience": 3}  # it must train through the load: no early stop
        task = stack.ml_task(
            ds["id"], "label", {"training": {"epochs": 500, "batch_size": 32, "early_stopping": no_stop}}
        )
        first = stack.train(task["id"])
        baseline = load(stack, [first["id"]], rate, baseline_s) if baseline_s > 0 else None
        stack.start_worker("load", concurrency=2)
        second = stack.train(task["id"])
        ids = [int(first["id"]), int(second["id"])]
        wait(lambda: all((stack.session(i)["progress"] or {}).get("batch") for i in ids), 600, "first batches", 1.0)
        print(f"nice {nice}: two trainings running; {rate:g} req/s for {duration:g}s...", flush=True)
        with Interference() as other:
            res = load(stack, ids, rate, duration)
        res["foreign_cpu_share"] = other.share
        res["training_status_during_load"] = [stack.session(i)["status"] for i in ids]
        res["training_nice"] = stack.settings.training_nice
        for i in ids:
            stack.call("POST", f"/sessions/{i}/abort", 202, json={})
        for i in ids:
            stack.wait_session(i, timeout=120)
    if baseline:
        res["baseline_idle"] = {k: baseline[k] for k in ("p50_ms", "p99_ms", "error_count", "loadavg_after")}
    return res


def start_phase(nice: int | None, busy: int, cap_s: float) -> dict[str, Any]:
    """One training start at NICE with BUSY normal-priority processes running (NICE None: nice 0, idle host)."""
    procs = loaded(busy) if nice is not None else []
    try:
        with Interference() as other:
            time.sleep(0.5 if procs else 0)  # the load is running before the training starts
            seconds = start_child(nice or 0, cap_s)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    return {"s": seconds, "foreign_cpu_share": other.share, "loadavg_after": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: nices 0,19, 3 s of load, 1 start each")
    parser.add_argument("--nices", default="0,5,10,19")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of load with no training, once")
    parser.add_argument("--starts", type=int, default=2, help="loaded-host starts per value (and idle starts)")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="busy processes (default: cores)")
    parser.add_argument("--cap-s", type=float, default=120.0, help="a start still running then is stopped")
    args = parser.parse_args(argv)
    nices = [0, 19] if args.quick else [int(n) for n in args.nices.split(",")]
    duration, starts, rows = (3.0, 1, 2_000) if args.quick else (args.duration, args.starts, 20_000)
    load_before = [round(x, 2) for x in os.getloadavg()]
    api: dict[str, Any] = {}
    runs: dict[str, list[dict[str, Any]]] = {"idle": [], **{f"nice {n}": [] for n in nices}}
    for round_ in range(starts):  # interleaved: each round has every value once, API phases in the first
        runs["idle"].append(start_phase(None, args.busy, args.cap_s))
        for n in nices:
            runs[f"nice {n}"].append(start_phase(n, args.busy, args.cap_s))
            if round_ == 0:
                api[f"nice {n}"] = api_phase(n, args.rate, duration, rows, args.baseline if n == nices[0] else 0)
    idle = median(r["s"] for r in runs["idle"])
    starts_fig = {
        name: {"median_s": median(r["s"] for r in got), "vs_idle": median(r["s"] for r in got) / idle, "runs": got}
        for name, got in runs.items()
    }
    figures = {"nices": nices, "rate": args.rate, "duration_s": duration, "busy_processes": args.busy}
    figures.update(cap_s=args.cap_s, api_under_two_trainings=api, start_on_loaded_host=starts_fig)
    rows_out: list[tuple[str, Any]] = []
    for n in nices:
        a, s = api[f"nice {n}"], starts_fig[f"nice {n}"]
        rows_out.append(
            (
                f"nice {n}: API p50 / p99 (ms), errors, req/s; start s (x idle)",
                f"{a['p50_ms']:.1f} / {a['p99_ms']:.1f}, {a['error_count']}, {a['achieved_rps']:.0f}; "
                f"{s['median_s']:.1f} ({s['vs_idle']:.1f}x)",
            )
        )
    rows_out.append(("idle start (s)", f"{idle:.1f}"))
    show(f"training niceness: API under two trainings ({args.rate:g} req/s) and start with {args.busy} busy", rows_out)
    write_result("nice_sweep", args.quick, figures, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
