"""The training memory limit: how far a fast allocator gets past it, held by the kernel vs polled by the supervisor.

    sudo .venv/bin/python bench/memory_limit.py [--quick] [--limit-mb 1000] [--repeats 3]

Needs a worker-like process that may create memory cgroups (root, cgroup v1 or v2 with the memory controller);
elsewhere it says so and writes nothing. A child allocates and touches 64 MiB at a time up to three times the
limit, under worker/supervisor.Supervisor as a training runs, interleaved, REPEATS times each:

- `kernel`: in a memory cgroup with memory.max = the limit (worker/cgroups.py), the supervisor reading oom_kill;
- `polling`: in a memory cgroup without a limit (there only to read the peak), the supervisor summing the tree's
  resident memory every 0.25 s as it does where no memory cgroup can be made.

The figure is the cgroup's peak (memory.peak / memory.max_usage_in_bytes) over the limit, and the seconds from
start to the session's end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import median, show, write_result  # noqa: E402
from worker import cgroups, child_process  # noqa: E402
from worker.cgroups import TrainingCgroup  # noqa: E402
from worker.supervisor import Sink, Supervisor  # noqa: E402

# Waits for its go line, then holds 64 MiB more at a time (each bytearray is zeroed: every page touched).
HOG = (
    "import os, sys, time; os.read(int(sys.argv[1]), 1); "
    "held = [bytearray(64 << 20) for _ in range(int(sys.argv[2]) // 64)]; time.sleep(5)"
)


def run(kernel: bool, limit_mb: int) -> dict[str, Any]:
    """One allocator under the supervisor, the limit held by the kernel or polled; its peak and end."""
    cgroup = TrainingCgroup.create(f"bench-{uuid.uuid4().hex[:8]}-1", 64, (limit_mb if kernel else 1 << 20) << 20)
    assert cgroup is not None and cgroup.memory is not None
    go_r, go_w = os.pipe()
    events_r, events_w = os.pipe()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOG, str(go_r), str(3 * limit_mb)], pass_fds=(go_r,), start_new_session=True
    )
    os.close(go_r)
    os.close(events_w)
    try:
        cgroup.add_tree(proc.pid)
        os.write(go_w, b"\n")
        outcome = Supervisor(
            proc,
            events_r,
            go_w,
            Sink(),
            time_limit_s=60,
            memory_limit_mb=limit_mb,
            max_processes=100,
            on_request=lambda request: {"ok": True},
            oom_kills=cgroup.memory.oom_kills if kernel else None,
        ).run()
        peak = cgroup.memory.peak() or 0
        return {
            "killed_for": outcome.killed_for,
            "peak_over_limit": peak / (limit_mb << 20),
            "end_s": time.perf_counter() - started,
        }
    finally:
        child_process.kill_group(proc)
        cgroup.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 300 MB limit, 1 repeat")
    parser.add_argument("--limit-mb", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if cgroups._base() is None or cgroups._memory_base() is None:
        print(
            "no usable memory cgroup controller here (run as root on cgroup v1, or v2 with memory): nothing to measure"
        )
        return
    limit, repeats = (300, 1) if args.quick else (args.limit_mb, args.repeats)
    load = list(os.getloadavg())
    runs: dict[str, list[dict[str, Any]]] = {"kernel": [], "polling": []}
    for _ in range(repeats):
        for mode in runs:
            runs[mode].append(run(mode == "kernel", limit))
    figures: dict[str, Any] = {"limit_mb": limit, "repeats": repeats, "runs": runs}
    for mode, got in runs.items():
        figures[mode] = {
            "peak_over_limit": median(r["peak_over_limit"] for r in got),
            "peak_over_limit_max": max(r["peak_over_limit"] for r in got),
            "end_s": median(r["end_s"] for r in got),
            "killed_for": sorted({str(r["killed_for"]) for r in got}),
        }
        show(f"{mode}: a child allocating 3x the {limit} MB limit", list(figures[mode].items()))
    write_result("memory_limit", args.quick, figures, load)


if __name__ == "__main__":
    main()
