"""Benchmark 1: training throughput of a fitstudio session vs. a plain `model.fit` on in-memory NumPy arrays.

    .venv/bin/python bench/throughput.py [--quick] [--workloads mlp,cnn] [--repeats N] [--feeds sequence,tfdata]

Workloads: a tabular MLP on 200k synthetic rows × 30 columns (24 numeric, 6 categorical) uploaded as CSV, and a
small CNN on 20k synthetic 64×64×3 PNGs uploaded as a class-folder ZIP; both use the ML task's default
architecture, batch size 32 (the product default) and standard mode, 3 epochs (the 2nd and 3rd are the steady
ones), 3 repeats (MLP) or 2 (CNN). Interleaved, in each repeat:

(a) a real session on a real worker; epoch time = the session history's "time" (epoch start to the end of the
    base callbacks: training steps + fitstudio's validation forward pass, in calls of callbacks.predict_rows rows,
    val_loss and metrics on the validation rows and the Train metrics' sample, trainer.train_sample_rows); whole
    run = POST /train to the session's ended_at (queue, child start, imports, data, preprocessing, fit, final
    evaluation, model save);
(b) a plain script in a fresh interpreter: the same split, preprocessing, model and batch size, then
    `model.fit(x, y, validation_data=..., validation_batch_size=...)` on float32 arrays (the same validation
    batch as fitstudio's forward pass), `model.evaluate` on the validation rows and `model.save`; whole run =
    its spawn to the end of the save. It also times `BaseCallback.scores` (the metrics) after that;
(c) without validation on both sides: fitstudio cannot train without a validation split, so a second ML task
    keeps the fewest validation rows (200 of 200k; 50 of 20k) and the plain script fits the same split without
    validation_data (and saves, no evaluation). fitstudio still scores that handful and its train sample.

Ratios are plain time ÷ fitstudio time (= fitstudio samples/s ÷ plain samples/s): "with metrics" (the target's
figure: steady epochs, validation on both sides), "without validation" (steady epochs, (c)), "whole run" (POST
to end vs. the plain script's whole run, with validation; and the same for (c)), "raw fit" (an estimate: the
metrics time, timed in the plain process, subtracted from the session's epoch). Each is reported as the median
over the repeats with its spread (min–max); the steady epochs' own spread is recorded too.

(d) Feeds: on a subset (40k rows / 2500 images, 3 epochs, the 2nd and 3rd timed) the plain script also runs fed
by fitstudio's ArraySequence (a Keras PyDataset: advanced mode's feed), by ArraySequence with PyDataset
worker threads, and by a tf.data pipeline over the same uint8/float32 arrays (scaled per batch in the graph,
shuffled, prefetched; "tfdata-rewrites" and "tfdata-autotune": the same with tf.data's default graph rewrites
or its autotuning on, as it was before issue 23): the input pipeline's share, in wall time and in the plain
process's CPU time per epoch (which other work on the host does not inflate).

The sessions' steady epochs are also read in CPU time: the training child's, sampled while it runs (EpochCpu), against
the plain script's own; "in CPU time" ratios sit beside the wall-time ones.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Interference, base_args, median, show, write_result  # noqa: E402
from bench.datasets import image_zip, tabular_csv  # noqa: E402
from bench.stack import Stack, read_only  # noqa: E402
from bench.throughput_plain import run_plain  # noqa: E402

SIZES = {  # workload: (full size, quick size, epochs, batch size, default repeats)
    "mlp": (200_000, 3_000, 3, 32, 3),
    "cnn": (20_000, 300, 3, 32, 2),  # an epoch of 16k images is 15-25 s on 2 cores
}
VARIANT_ROWS = {"mlp": 40_000, "cnn": 2_500}  # the subset the feeds are compared on
RATIOS = ("ratio_with_metrics", "ratio_no_validation", "ratio_whole_run", "ratio_whole_run_no_validation")
# The same steady epochs in CPU seconds (the training process's, all its threads): a 2-core VM that lends a process
# one core or two from minute to minute swings the wall times (docs/benchmarks.md), not the CPU a step costs.
CPU_RATIOS = ("cpu_ratio_with_metrics", "cpu_ratio_no_validation")


def steady(times: list[float]) -> list[float]:
    """The epochs after the first (which also traces the graphs: a second or two); the first when it is alone."""
    return times[1:] if len(times) > 1 else times


def spread(values: list[float]) -> dict[str, float]:
    """Median, least and greatest of VALUES."""
    return {"median": median(values), "min": min(values), "max": max(values), "n": len(values)}


def few_validation_rows(size: int) -> float:
    """The train ratio that leaves fitstudio the fewest validation rows worth scoring (0.1 %, at least 50)."""
    return 1 - max(50, size // 1000) / size


# ---------------------------------------------------------------- (a): the session


class EpochCpu:
    """The training child's CPU seconds (all its threads) at each epoch's end, as the session's history in the
    database shows the epoch, sampled every EVERY_S by a thread. A sandboxed child's time never comes back through
    bubblewrap's PID namespace to this process's reaped totals, so it is read while the child runs.

    Each sample must cost next to nothing: this process is not in the training's cpu cgroups and takes the CPU from
    the child whenever it runs. Read through the ORM (the session row with its history), the samples took 6 % of a
    core while a session trained, against 1.2 % for the rest of the benchmark during a plain run (a throw-away
    probe, docs/benchmarks.md); the history's length is now read with one SQL statement on a connection kept open."""

    EVERY_S = 0.05  # an epoch's boundary is placed within this: about 1 % of a CNN epoch's CPU time

    def __init__(self, session_id: int, database: Path) -> None:
        import threading

        self.session_id = session_id
        self.database = database  # the stack's SQLite file
        self.at_epoch: dict[int, float] = {}
        self._child: Any = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bench-epoch-cpu", daemon=True)

    def __enter__(self) -> EpochCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        query = "SELECT coalesce(json_array_length(history), 0) FROM training_sessions WHERE id = ?"
        with closing(read_only(self.database)) as db:
            while not self._done.wait(self.EVERY_S):
                cpu = self._child_cpu()
                if cpu is None:
                    continue
                (epochs,) = db.execute(query, (self.session_id,)).fetchone()
                for epoch in range(1, epochs + 1):
                    self.at_epoch.setdefault(epoch, cpu)

    def _child_cpu(self) -> float | None:
        import psutil

        try:
            if self._child is None or not self._child.is_running():
                self._child = next(
                    p
                    for p in psutil.Process().children(recursive=True)
                    if p.name() != "bwrap" and "worker.runtime.child" in " ".join(p.cmdline())
                )
            t = self._child.cpu_times()
        except (StopIteration, psutil.Error):
            self._child = None
            return None
        return float(t.user + t.system)

    def epoch_cpu_s(self) -> list[float | None]:
        """Each epoch's CPU seconds from the second on (the first's start is not seen), None where unseen."""
        at = self.at_epoch
        last = max(at, default=0)
        return [at[k] - at[k - 1] if k in at and k - 1 in at else None for k in range(2, last + 1)]


def run_session(stack: Stack, task_id: str) -> dict[str, Any]:
    """Train TASK_ID once on the worker; epoch times from the session's history, the whole run from POST to
    the session's ended_at, the steady epochs' CPU seconds from EpochCpu."""
    t0, posted = time.monotonic(), time.time()
    session = stack.train(task_id)
    with EpochCpu(session["id"], stack.database_file) as cpu:
        final = stack.wait_session(session["id"], every=1.0)  # light on the API: the whole run is from ended_at
    if final["status"] != "succeeded":
        raise RuntimeError(f"session ended {final['status']}: {final['error']}\n{stack.session_log(final['id'])}")
    log = stack.session_log(final["id"])
    match = re.search(r"(\d+) rows: (\d+) for training", log)
    ended, started = datetime.fromisoformat(final["ended_at"]), datetime.fromisoformat(final["started_at"])
    return {
        "session_id": final["id"],
        "n_train": int(match.group(2)) if match else None,
        "epoch_s": [float(h["time"]) for h in final["history"]],
        "epoch_cpu_s": [None, *cpu.epoch_cpu_s()],  # aligned with epoch_s; the first epoch's start is not seen
        "whole_run_s": ended.timestamp() - posted,
        "post_to_end_s": time.monotonic() - t0,  # as seen by polling every second
        "running_s": (ended - started).total_seconds(),
        "fitstudio_lines": [ln for ln in log.splitlines() if ln.startswith("[fitstudio]")],
    }


def one_repeat(stack: Stack, tasks: dict[str, str], jobs: dict[str, Path]) -> dict[str, Any]:
    """One interleaved repeat: session, plain script, session and plain script without validation."""
    runs: dict[str, dict[str, Any]] = {}
    for key, task_key, variant in (
        ("session", "val", None),
        ("plain", "val", "arrays"),
        ("session_no_validation", "noval", None),
        ("plain_no_validation", "noval", "arrays-noval"),
    ):
        with Interference() as during:
            if variant is None:
                runs[key] = run_session(stack, tasks[task_key])
                if task_key not in jobs:
                    jobs[task_key] = stack.folder / f"job-{task_key}-{runs[key]['session_id']}.json"
                    scratch = stack.folder / f"scratch-{task_key}"
                    jobs[task_key].write_text(json.dumps(stack.job(runs[key]["session_id"], scratch)))
            else:
                runs[key] = run_plain(jobs[task_key], variant)
        runs[key]["foreign_cpu_share"] = during.share
    fs_t, plain_t = median(steady(runs["session"]["epoch_s"])), median(steady(runs["plain"]["epoch_s"]))
    fs_nv, plain_nv = (median(steady(runs[k]["epoch_s"])) for k in ("session_no_validation", "plain_no_validation"))
    scores_t = median(runs["plain"]["scores_s"])
    return {
        **runs,
        "fs_epoch_s": fs_t,
        "plain_epoch_s": plain_t,
        "fs_epoch_no_validation_s": fs_nv,
        "plain_epoch_no_validation_s": plain_nv,
        "scores_s": scores_t,
        "ratio_with_metrics": plain_t / fs_t,
        "ratio_no_validation": plain_nv / fs_nv,
        "ratio_whole_run": runs["plain"]["whole_run_s"] / runs["session"]["whole_run_s"],
        "ratio_whole_run_no_validation": runs["plain_no_validation"]["whole_run_s"]
        / runs["session_no_validation"]["whole_run_s"],
        "ratio_raw_fit": plain_t / max(1e-9, fs_t - scores_t),
        **{name: _cpu_ratio(runs[plain], runs[fs]) for name, plain, fs in CPU_PAIRS},
    }


CPU_PAIRS = (
    ("cpu_ratio_with_metrics", "plain", "session"),
    ("cpu_ratio_no_validation", "plain_no_validation", "session_no_validation"),
)


def _three(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.3f}"


def _cpu_ratio(plain: dict[str, Any], session: dict[str, Any]) -> float | None:
    """Plain ÷ session CPU seconds of the steady epochs (medians); None where a session epoch's CPU went unseen."""
    fs = [c for c in steady(session["epoch_cpu_s"]) if c is not None]
    return median(steady(plain["epoch_cpu_s"])) / median(fs) if fs else None


def summary(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """Each ratio's median and spread over the repeats, and the steady epochs' spread on each side."""
    out: dict[str, Any] = {name: median(r[name] for r in reps) for name in (*RATIOS, "ratio_raw_fit")}
    out["spread"] = {name: spread([r[name] for r in reps]) for name in (*RATIOS, "ratio_raw_fit")}
    for name in CPU_RATIOS:
        seen = [r[name] for r in reps if r.get(name) is not None]
        out[name] = median(seen) if seen else None
        out["spread"][name] = spread(seen) if seen else None
    out["steady_epochs_s"] = {
        side: spread([t for r in reps for t in steady(r[side]["epoch_s"])])
        for side in ("session", "plain", "session_no_validation", "plain_no_validation")
    }
    out["whole_run_s"] = {
        side: spread([r[side]["whole_run_s"] for r in reps])
        for side in ("session", "plain", "session_no_validation", "plain_no_validation")
    }
    # Other work on the machine only ever slows an epoch down: the best epochs are the least disturbed.
    best = out["steady_epochs_s"]
    out["ratio_best_epochs"] = best["plain"]["min"] / best["session"]["min"]
    out["foreign_cpu_share_max"] = max(
        r[side]["foreign_cpu_share"]
        for r in reps
        for side in ("session", "plain", "session_no_validation", "plain_no_validation")
    )
    return out


def workload(
    stack: Stack, name: str, quick: bool, repeats: int, variants: list[str], feed_rows: int = 0
) -> dict[str, Any]:
    """Prepare the dataset and ML tasks of workload NAME; interleave sessions and plain runs (feeds on FEED_ROWS)."""
    full, small, epochs, batch, default_repeats = SIZES[name]
    size = small if quick else full
    repeats = repeats or (2 if quick else default_repeats)
    t = time.perf_counter()
    path = tabular_csv(stack.folder / "mlp.csv", size) if name == "mlp" else image_zip(stack.folder / "cnn.zip", size)
    made = time.perf_counter() - t
    t = time.perf_counter()
    dataset = stack.upload(path, name)
    upload_s = time.perf_counter() - t
    print(f"{name}: {size} rows/images made in {made:.1f}s, uploaded in {upload_s:.1f}s", flush=True)
    training = {"epochs": epochs, "batch_size": batch, "shuffle": True, "mode": "standard"}
    few = few_validation_rows(size)
    tasks = {
        "val": stack.ml_task(dataset["id"], "label", {"training": training})["id"],
        "noval": stack.ml_task(dataset["id"], "label", {"training": training, "split": {"train_ratio": few}})["id"],
    }
    reps: list[dict[str, Any]] = []
    jobs: dict[str, Path] = {}
    for i in range(repeats):
        rep = one_repeat(stack, tasks, jobs)
        reps.append(rep)
        print(
            f"{name} rep {i + 1}: fitstudio {rep['fs_epoch_s']:.2f}s/epoch, plain {rep['plain_epoch_s']:.2f}s "
            f"(validation at {rep['plain']['validation_batch_size']} rows a call on both sides); without validation "
            f"{rep['fs_epoch_no_validation_s']:.2f} vs {rep['plain_epoch_no_validation_s']:.2f}s; "
            f"whole run {rep['session']['whole_run_s']:.1f} vs "
            f"{rep['plain']['whole_run_s']:.1f}s -> ratios {rep['ratio_with_metrics']:.3f} with metrics, "
            f"{rep['ratio_no_validation']:.3f} without validation, {rep['ratio_whole_run']:.3f} whole run; "
            f"in CPU time {_three(rep['cpu_ratio_with_metrics'])} and {_three(rep['cpu_ratio_no_validation'])}",
            flush=True,
        )
    first = reps[0]
    out: dict[str, Any] = {
        "size": size,
        "epochs": epochs,
        "batch_size": batch,
        "validation_batch_size": first["plain"]["validation_batch_size"],
        "n_train": first["plain"]["n_train"],
        "n_val": first["plain"]["n_val"],
        "no_validation_train_ratio": few,
        "no_validation_n_train": first["plain_no_validation"]["n_train"],
        "no_validation_n_val": first["plain_no_validation"]["n_val"],
        "dataset_make_s": made,
        "upload_s": upload_s,
        "repeats": reps,
        **summary(reps),
        "fitstudio_samples_per_s": first["plain"]["n_train"] / median(r["fs_epoch_s"] for r in reps),
        "plain_samples_per_s": first["plain"]["n_train"] / median(r["plain_epoch_s"] for r in reps),
        "metrics_s": median(r["scores_s"] for r in reps),
    }
    if variants:
        out["feeds"] = compare_feeds(jobs["val"], name, quick, size, variants, feed_rows)
    return out


def compare_feeds(
    job_file: Path, name: str, quick: bool, size: int, variants: list[str], feed_rows: int
) -> dict[str, Any]:
    """(d): feeds compared on a subset, 3 epochs (the 2nd and 3rd timed)."""
    limit = 0 if quick else (feed_rows or VARIANT_ROWS[name])
    runs = {}
    for v in ["arrays", *[v for v in variants if v != "arrays"]]:
        with Interference() as during:
            runs[v] = run_plain(job_file, v, limit, 3)
        runs[v]["foreign_cpu_share"] = during.share
    base = median(steady(runs["arrays"]["epoch_s"]))
    base_cpu = median(steady(runs["arrays"]["epoch_cpu_s"]))
    feeds = {
        v: {
            "rows": limit or size,
            "epoch_s": median(steady(r["epoch_s"])),
            "speed_vs_arrays": base / median(steady(r["epoch_s"])),
            "epoch_cpu_s": median(steady(r["epoch_cpu_s"])),
            # CPU seconds per epoch, arrays' over the feed's: the feed's own cost, whatever the host's load
            "cpu_speed_vs_arrays": base_cpu / median(steady(r["epoch_cpu_s"])),
            "run": r,
        }
        for v, r in runs.items()
    }
    print(
        f"{name} feeds (speed vs arrays, wall and CPU): "
        + ", ".join(
            f"{v} {f['speed_vs_arrays']:.2f} and {f['cpu_speed_vs_arrays']:.2f} "
            f"({f['run']['foreign_cpu_share']:.0%} other CPU)"
            for v, f in feeds.items()
        ),
        flush=True,
    )
    return feeds


def table(w: dict[str, Any]) -> list[tuple[str, Any]]:
    """The printed rows of one workload."""

    def ratio(name: str) -> str:
        s = w["spread"].get(name)
        return f"{s['median']:.3f} ({s['min']:.3f}-{s['max']:.3f}, {s['n']} repeats)" if s else "not seen"

    epochs = w["steady_epochs_s"]
    rows: list[tuple[str, Any]] = [
        ("train samples / epoch; validation rows", f"{w['n_train']}; {w['n_val']}"),
        ("batch size; validation batch (both sides)", f"{w['batch_size']}; {w['validation_batch_size']}"),
        ("steady epoch fitstudio s (min-max)", f"{epochs['session']['min']:.2f}-{epochs['session']['max']:.2f}"),
        ("steady epoch plain s (min-max)", f"{epochs['plain']['min']:.2f}-{epochs['plain']['max']:.2f}"),
        ("metrics time per epoch (s)", w["metrics_s"]),
        ("ratio with metrics (target >= 0.90)", ratio("ratio_with_metrics")),
        (f"ratio without validation ({w['no_validation_n_val']} val rows in fitstudio)", ratio("ratio_no_validation")),
        ("ratio of whole runs (POST -> end vs plain script)", ratio("ratio_whole_run")),
        ("  the same without validation", ratio("ratio_whole_run_no_validation")),
        ("ratio raw fit (estimate: metrics subtracted)", ratio("ratio_raw_fit")),
        ("the same epochs in CPU time, with metrics", ratio("cpu_ratio_with_metrics")),
        ("  and without validation", ratio("cpu_ratio_no_validation")),
        ("ratio of the best epochs (with metrics)", w["ratio_best_epochs"]),
        ("other processes' CPU share, worst run", w["foreign_cpu_share_max"]),
    ]
    for v, f in w.get("feeds", {}).items():
        rows.append((f"feed {v}: epoch speed vs arrays ({f['rows']} rows)", f["speed_vs_arrays"]))
        rows.append(("  the same in CPU time per epoch", f["cpu_speed_vs_arrays"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--workloads", default="mlp,cnn")
    parser.add_argument("--repeats", type=int, default=0, help="interleaved repetitions (default: mlp 3, cnn 2)")
    parser.add_argument("--size", type=int, default=0, help="rows/images of each workload (default: 200k / 20k)")
    parser.add_argument("--results-name", default="throughput", help="results file: bench/results/NAME.json")
    parser.add_argument(
        "--feeds",
        default="sequence,tfdata",
        help="feeds compared with plain arrays on a subset (arrays, sequence, sequence-workers, tfdata, "
        "tfdata-rewrites, tfdata-autotune; empty: none)",
    )
    parser.add_argument(
        "--feed-rows",
        type=int,
        default=0,
        help="rows the feeds are compared on (default: mlp 40000, cnn 2500; 0 rows = the default)",
    )
    args = parser.parse_args(argv)
    if args.size:
        for key, (_, small, *rest) in list(SIZES.items()):
            SIZES[key] = (args.size, small, *rest)
    feeds = [f.strip() for f in args.feeds.split(",") if f.strip()]
    load = [round(x, 2) for x in os.getloadavg()]
    figures: dict[str, Any] = {}
    with Stack("throughput", keep=args.keep) as stack:
        stack.start_api()
        stack.start_worker("tp")
        stack.project()
        for name in [w.strip() for w in args.workloads.split(",") if w.strip()]:
            figures[name] = w = workload(stack, name, args.quick, args.repeats, feeds, args.feed_rows)
            show(f"throughput {name}", table(w))
    write_result(args.results_name, args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
