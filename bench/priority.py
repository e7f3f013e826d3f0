"""A training child's start on a shared host: nice 0 vs nice 19, under normal-priority load (see also nice_sweep.py).

    .venv/bin/python bench/priority.py [--quick] [--repeats 3] [--load N] [--cases idle,nice 0,nice 19]

The host's other work is N busy processes (default: one per core) at normal priority, each in a session of its
own as other services are. A child is started as the worker starts a training (a new session, then
worker/runtime/limits.apply with FITSTUDIO_TRAINING_NICE's value, which sets the thread and the autogroup
niceness), imports TensorFlow and runs 20 small training steps: what stands between POST /train and the first
batches. Interleaved, REPEATS times each: nice 0 (the default), nice 19 (the setting before issue 23), and
nice 0 on an idle host (the reference). The figures are seconds from start to the child's exit and the ratio to
the idle run. A start still running after --cap-s seconds is stopped and counted as that (a lower bound).
`--cases` picks others: "nice N" for any N, and "nice N cgroup": the child also in a cpu cgroup of its own, placed
as the worker places a training beside its service (worker/cgroups.py; the service's cgroup idle, as when the API
has nothing to do), before it imports anything (it waits for a line on stdin as a training waits for "go").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import ROOT, median, show, write_result  # noqa: E402

CHILD = """
import os, sys
sys.stdin.readline()  # placed in its cgroups first, as a training waits for the worker's go
from core.contracts import Limits
from worker.runtime import limits
limits.apply(Limits(nice=%d))
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf
layers = tf.keras.layers
model = tf.keras.Sequential([tf.keras.Input((30,)), layers.Dense(64, activation="relu"), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(np.zeros((640, 30)), np.zeros((640, 1)), batch_size=32, epochs=1, verbose=0)
"""
BUSY = "while True: pass"


def start_child(nice: int, cap_s: float, cgroup: bool = False) -> float:
    """Seconds from starting the child (in its own session, as the worker does) to its exit; CAP_S when it has not
    exited by then (it is killed: the figure is then a lower bound). With CGROUP, in a training's cpu cgroup."""
    from worker import cgroups

    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD % nice], cwd=ROOT, stdin=subprocess.PIPE, start_new_session=True
    )
    placed = None
    if cgroup:
        cgroups.in_service = lambda: True  # as the worker, which joined the service
        placed = cgroups.TrainingCgroup.create(f"bench-priority-{child.pid}", 1024)
        if placed is None or len(placed.paths) < 2:
            child.kill()
            raise SystemExit("no cpu cgroup can be made here (root and the cpu controller are needed)")
        placed.add(child.pid)
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    child.stdin.close()
    try:
        child.wait(timeout=cap_s)
        if child.returncode:
            raise SystemExit(f"the child failed ({child.returncode})")
        return time.perf_counter() - started
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return cap_s
    finally:
        if placed is not None:
            placed.remove()


def loaded(n: int) -> list[subprocess.Popen[bytes]]:
    """N busy processes at normal priority, each in its own session."""
    return [subprocess.Popen([sys.executable, "-c", BUSY], start_new_session=True) for _ in range(n)]


def run_case(name: str, load: int, cap_s: float) -> float:
    """One start: NAME is 'idle' (nice 0 on an idle host), 'nice N' or 'nice N cgroup' under the load."""
    busy = loaded(load) if name != "idle" else []
    try:
        time.sleep(0.5 if busy else 0)  # the load is running before the training starts
        nice = 0 if name == "idle" else int(name.split()[1])
        return start_child(nice, cap_s, cgroup=name.endswith(" cgroup"))
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1, help="busy processes (default: cores)")
    parser.add_argument("--cap-s", type=float, default=120.0, help="a start still running then is stopped")
    parser.add_argument("--cases", default="idle,nice 0,nice 19", help="comma list: idle, nice N, nice N cgroup")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    loadavg = list(os.getloadavg())
    runs: dict[str, list[float]] = {name.strip(): [] for name in ["idle", *args.cases.split(",")]}
    for _ in range(repeats):
        for name in runs:
            runs[name].append(run_case(name, args.load, args.cap_s))
    figures: dict[str, Any] = {"repeats": repeats, "load_processes": args.load, "cap_s": args.cap_s, "runs": runs}
    for name, got in runs.items():
        figures[name] = {"median_s": median(got), "max_s": max(got), "vs_idle": median(got) / median(runs["idle"])}
    show(
        f"start to 20 training steps, {args.load} busy processes (median of {repeats}, s)",
        [(f"{name} {key}", figures[name][key]) for name in runs for key in ("median_s", "max_s", "vs_idle")],
    )
    write_result("priority", args.quick, figures, loadavg)


if __name__ == "__main__":
    main()
