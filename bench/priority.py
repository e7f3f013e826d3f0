"""A training child's start on a shared host: nice 0 vs nice 19, under normal-priority load (see also nice_sweep.py).

    .venv/bin/python bench/priority.py [--quick] [--repeats 3] [--load N]

The host's other work is N busy processes (default: one per core) at normal priority, each in a session of its
own as other services are. A child is started as the worker starts a training (a new session, then
worker/runtime/limits.apply with FITSTUDIO_TRAINING_NICE's value, which sets the thread and the autogroup
niceness), imports TensorFlow and runs 20 small training steps: what stands between POST /train and the first
batches. Interleaved, REPEATS times each: nice 0 (the default), nice 19 (the setting before issue 23), and
nice 0 on an idle host (the reference). The figures are seconds from start to the child's exit and the ratio to
the idle run. A start still running after --cap-s seconds is stopped and counted as that (a lower bound).
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
import os
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


def start_child(nice: int, cap_s: float) -> float:
    """Seconds from starting the child (in its own session, as the worker does) to its exit; CAP_S when it has not
    exited by then (it is killed: the figure is then a lower bound)."""
    started = time.perf_counter()
    try:
        subprocess.run(
            [sys.executable, "-c", CHILD % nice], cwd=ROOT, check=True, start_new_session=True, timeout=cap_s
        )
    except subprocess.TimeoutExpired:
        return cap_s
    return time.perf_counter() - started


def loaded(n: int) -> list[subprocess.Popen[bytes]]:
    """N busy processes at normal priority, each in its own session."""
    return [subprocess.Popen([sys.executable, "-c", BUSY], start_new_session=True) for _ in range(n)]


def run_case(name: str, load: int, cap_s: float) -> float:
    """One start: NAME is 'idle', 'nice 0' or 'nice 19'."""
    busy = loaded(load) if name != "idle" else []
    try:
        time.sleep(0.5 if busy else 0)  # the load is running before the training starts
        return start_child(19 if name == "nice 19" else 0, cap_s)
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
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    loadavg = list(os.getloadavg())
    runs: dict[str, list[float]] = {"idle": [], "nice 0": [], "nice 19": []}
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
