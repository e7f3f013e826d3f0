"""Benchmark 3: from POST /train to the first training batch on an idle, warm worker, minus TensorFlow's import.

    .venv/bin/python bench/start_latency.py [--quick] [--repeats 3]

A real API server and one real worker on a fresh FITSTUDIO_HOME; a small tabular dataset (5000 rows × 30
columns). One warm-up session, then REPEATS measured ones, each on an idle worker: POST /train, then the session
row (status, progress) and its output log are polled every 50 ms, so each phase gets a timestamp: queued →
running (the worker claimed it) → the child's "[fitstudio] ..." lines → epoch 1 batch 1 in the progress.
TensorFlow's bare import is measured in the same run (before and after the sessions), timed the way the child
runs (bench/common.py tf_import_seconds): a fresh interpreter in a new session with a child's environment, at
the worker's training niceness (and autogroup), from its spawn to the end of `import tensorflow`, without
interpreter teardown (the child skips it too, and its first batch comes before its end). Target: latency -
import <= 3 s. The import alone (timed inside that interpreter) is reported too, with the stricter difference.
It also prints where the child's import time goes (python -X importtime, self time summed per package).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, base_args, median, show, tf_import_seconds  # noqa: E402
from bench.datasets import tabular_csv  # noqa: E402
from bench.stack import Stack, read_only  # noqa: E402

POLL_S = 0.05
PHASES = [  # (key, what marks its end)
    ("running", "the worker claimed the session (status running)"),
    ("isolation", "child started and sandboxed ([fitstudio] isolation)"),
    ("visible GPUs", "child imports done: keras/TF, runtime ([fitstudio] visible GPUs)"),
    ("rows:", "dataset read and split ([fitstudio] N rows)"),
    ("inputs:", "preprocessing fitted and applied ([fitstudio] inputs)"),
    ("first_batch", "model built, compiled, checked; fit set up; batch 1 done (progress)"),
]


def measure_one(stack: Stack, task_id: str, db_path: Path) -> dict[str, Any]:
    """Submit one training and timestamp each phase up to its first batch; then wait for its end."""
    t0 = time.monotonic()
    session = stack.train(task_id)
    post_s = time.monotonic() - t0
    sid = int(session["id"])
    log_path = stack.log_path(sid)
    seen: dict[str, float] = {}
    conn = read_only(db_path)
    try:
        while "first_batch" not in seen and time.monotonic() - t0 < 600:
            now = time.monotonic() - t0
            row = conn.execute("SELECT status, progress FROM training_sessions WHERE id = ?", (sid,)).fetchone()
            status, progress = row[0], row[1] or ""
            if status != "queued":
                seen.setdefault("running", now)
            if status in ("failed", "aborted"):
                raise RuntimeError(f"session {sid} {status}: {stack.session_log(sid)[-2000:]}")
            if re.search(r'"batch":\s*[1-9]', progress) and re.search(r'"epoch":\s*1\b', progress):
                seen["first_batch"] = now
            if log_path.exists():
                text = log_path.read_text(errors="replace")
                for key, _ in PHASES[1:5]:
                    if f"[fitstudio] {key}" in text or (
                        key in ("rows:", "inputs:") and re.search(rf"\[fitstudio\] (\d+ )?{key}", text)
                    ):
                        seen.setdefault(key, now)
            time.sleep(POLL_S)
    finally:
        conn.close()
    final = stack.wait_session(sid)
    marks, last, phases = [], 0.0, {}
    for key, _ in PHASES:
        if key in seen:
            phases[key] = seen[key] - last
            last = seen[key]
        marks.append((key, seen.get(key)))
    lines = [ln for ln in stack.session_log(sid).splitlines() if ln.startswith("[fitstudio]")]
    return {
        "session_id": sid,
        "status": final["status"],
        "post_s": post_s,
        "marks": dict(marks),
        "phase_s": phases,
        "first_batch_s": seen.get("first_batch"),
        "fitstudio_lines": lines,
    }


def idle_cpu_share(pid: int, seconds: float) -> float:
    """CPU seconds per second the idle worker process PID uses over SECONDS (the broker polling, heartbeats)."""
    import psutil

    proc = psutil.Process(pid)
    before = sum(proc.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(proc.cpu_times()[:2]) - before) / seconds


def import_profile() -> dict[str, float]:
    """Self import time per top-level package of what the child imports (one `python -X importtime` run)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "-1",
        "KERAS_BACKEND": "tensorflow",
        "PYTHONPATH": str(ROOT),
    }
    code = "import worker.runtime.trainer, worker.runtime.cells, core.protocol, sklearn.metrics"
    t = time.perf_counter()
    proc = subprocess.run([PY, "-X", "importtime", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    total = time.perf_counter() - t
    per: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            root = m.group(4).split(".")[0]
            per[root] = per.get(root, 0.0) + int(m.group(1)) / 1e6
    top = dict(sorted(per.items(), key=lambda kv: -kv[1])[:10])
    top["(interpreter run, total)"] = total
    return top


def _task(stack: Stack, images: int, quick: bool) -> dict[str, Any]:
    """The ML task the sessions train: the small table's, or (IMAGES > 0) the default CNN's on that many JPEGs at
    128x128x3 for 3 batches, so that the warm-up session builds the image cache and each measured one is a second
    session on the dataset (streamed over the cache above the stream threshold, as the child decides)."""
    if not images:
        ds = stack.upload(tabular_csv(stack.folder / "small.csv", 1000 if quick else 5000), "small")
        return stack.ml_task(ds["id"], "label", {"training": {"epochs": 1, "batch_size": 32}})
    from bench.streamed_up import write_images

    path = stack.folder / f"images_{images}.zip"
    write_images(path, images)
    ds = stack.upload(path, path.stem)
    path.unlink()
    patch = {
        "image": {"height": 128, "width": 128, "channels": 3},
        "training": {"epochs": 1, "batch_size": 32, "steps_per_epoch": 3, "early_stopping": {"enabled": False}},
    }
    return stack.ml_task(ds["id"], "label", patch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--repeats", type=int, default=0, help="measured sessions (default 3; 1 with --quick)")
    parser.add_argument(
        "--images", type=int, default=0, help="a ZIP of this many 128x128 JPEGs instead of the table (issue 17)"
    )
    args = parser.parse_args(argv)
    from bench.common import write_result

    load = [round(x, 2) for x in os.getloadavg()]
    repeats = args.repeats or (1 if args.quick else 3)
    with Stack("latency", keep=args.keep) as stack:
        stack.start_api()
        worker = stack.start_worker("lat")
        stack.project()
        task = _task(stack, args.images, args.quick)
        db_path = stack.database_file
        nice = stack.settings.training_nice  # the child's niceness: the reference import runs at the same
        tf_before = tf_import_seconds(1 if args.quick else 3, nice)
        print(f"TensorFlow bare import: {tf_before[0]:.2f}s; warm-up session...", flush=True)
        warm = measure_one(stack, task["id"], db_path)
        runs, idle_cpu = [], []
        for i in range(repeats):
            idle_cpu.append(idle_cpu_share(worker.pid, 3.0))  # idle: the previous child is gone, its session ended
            runs.append(measure_one(stack, task["id"], db_path))
            print(f"run {i + 1}: first batch after {runs[-1]['first_batch_s']:.2f}s", flush=True)
        tf_after = tf_import_seconds(1 if args.quick else 3, nice)
    tf_s, tf_in = median([tf_before[0], tf_after[0]]), median([tf_before[1], tf_after[1]])
    latency = median(r["first_batch_s"] for r in runs)
    imports = {} if args.quick else import_profile()
    figures = {
        "tf_import_s": tf_s,
        "tf_import_how": "spawn to import done, new session, child env, no teardown, at the training niceness",
        "training_nice": nice,
        "tf_import_before_after_s": [tf_before, tf_after],
        "tf_import_in_process_s": tf_in,
        "first_batch_s": latency,
        "beyond_tf_import_s": latency - tf_s,
        "beyond_tf_import_in_process_s": latency - tf_in,
        "warmup": warm,
        "runs": runs,
        "phase_median_s": {k: median(r["phase_s"].get(k, float("nan")) for r in runs) for k, _ in PHASES},
        "child_import_self_s": imports,
        "idle_worker_cpu_share": median(idle_cpu),
    }
    show(
        "start latency",
        [
            ("POST /train -> first batch (s, median)", latency),
            (f"TensorFlow import, spawn to done, nice {nice}, as a child (s)", tf_s),
            ("beyond TF import (s, target <= 3)", latency - tf_s),
            ("  the import alone, timed in that process (s)", tf_in),
            ("  beyond the import alone (s, stricter)", latency - tf_in),
            ("idle worker's CPU use (share of one core)", figures["idle_worker_cpu_share"]),
            *((f"  phase: {desc}", figures["phase_median_s"][k]) for k, desc in PHASES),
            *((f"  import self time: {k}", v) for k, v in imports.items()),
        ],
    )
    figures["images"] = args.images
    write_result(f"start_latency-images{args.images}" if args.images else "start_latency", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
