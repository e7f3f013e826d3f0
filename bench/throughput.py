"""Benchmark 1: training throughput of a fitstudio session vs. a plain `model.fit` on in-memory NumPy arrays.

    .venv/bin/python bench/throughput.py [--quick] [--workloads mlp,cnn] [--repeats N] [--feeds sequence,tfdata]

Workloads: a tabular MLP on 200k synthetic rows × 30 columns (24 numeric, 6 categorical) uploaded as CSV, and a
small CNN on 20k synthetic 64×64×3 PNGs uploaded as a class-folder ZIP; both use the ML task's default
architecture, batch size 32 (the product default) and standard mode; the MLP trains 3 epochs (the 2nd and 3rd
are timed) twice, the CNN 2 epochs (the 2nd timed) once. Interleaved, REPEATS times:

(a) a real session on a real worker; epoch time = the session history's "time" (epoch start to the end of the
    base callbacks: training steps + fitstudio's validation loss and metrics on validation + train sample);
(b) a plain script in a fresh interpreter: the same split, preprocessing, model and batch size, then
    `model.fit(x, y, validation_data=...)` on float32 arrays (Keras's validation pass runs at the training batch
    size, as a hand-written script's does); it also times `BaseCallback.scores` (the metrics) and runs the
    same fit without validation_data (the training steps alone).

Ratios are fitstudio samples/s ÷ plain samples/s: "with metrics" uses the session's epoch time as is (the
target's figure); "raw fit" subtracts the metrics time (scores() timed in the plain process on the same model and
data); "training steps" compares the session's epoch minus its metrics with the plain fit without validation.

(c) Feeds: on a subset (40k rows / 2500 images, 3 epochs, the 2nd and 3rd timed) the plain script also runs fed
by fitstudio's ArraySequence (a Keras PyDataset: advanced mode's feed), by ArraySequence with PyDataset
worker threads, and by a tf.data pipeline over the same uint8/float32 arrays (scaled per batch in the graph,
shuffled, prefetched): the input pipeline's share.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, Interference, Stack, base_args, median, show, write_result  # noqa: E402
from bench.datasets import image_zip, tabular_csv  # noqa: E402

SIZES = {  # workload: (full size, quick size, epochs, batch size, default repeats)
    "mlp": (200_000, 3_000, 3, 32, 2),
    "cnn": (20_000, 300, 2, 32, 1),  # an epoch of 16k images is 15-25 s on 2 cores: 2 epochs (the 2nd timed), 1 repeat
}
VARIANT_ROWS = {"mlp": 40_000, "cnn": 2_500}  # the subset the feeds are compared on


def steady(times: list[float]) -> list[float]:
    """The epochs after the first (which also traces the graphs: a second or two); the first when it is alone."""
    return times[1:] if len(times) > 1 else times


# ---------------------------------------------------------------- (b), (c): the plain script, in a fresh process


def feed(variant: str, x: dict[str, Any], y: Any, batch: int, seed: int, train: bool) -> tuple[Any, dict[str, Any]]:
    """What model.fit gets for VARIANT: (x or dataset, extra fit kwargs)."""
    from core.sequences import ArraySequence, as_model_input

    if variant in ("arrays", "arrays-noval"):  # float32 arrays, as a hand-written script would
        return ({k: as_model_input(v) for k, v in x.items()}, y), {"batch_size": batch, "shuffle": True}
    if variant in ("sequence", "sequence-workers"):  # fitstudio's feed today (workers: PyDataset's own threads)
        kw = {"workers": 2, "max_queue_size": 8} if variant == "sequence-workers" else {}
        return ArraySequence(x, y, batch, shuffle=train, seed=seed, **kw), {}
    from worker.runtime.fit import gathered_batches  # "tfdata": standard mode's image feed, for any data

    return gathered_batches(x, y, batch, train, seed), {}


def plain_main(job_path: str, variant: str, out_path: str, limit: int, epochs: int) -> None:
    """Train the job's model the hand-written way, fed as VARIANT (LIMIT rows, EPOCHS when > 0); write timings."""
    t0 = time.perf_counter()
    import keras
    import numpy as np

    from core import contracts, data, preprocessing
    from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring
    from worker.runtime.trainer import TRAIN_SAMPLE_ROWS, _true_values

    t_import = time.perf_counter() - t0
    job = json.loads(Path(job_path).read_text())
    design = job["design"]
    settings, target, ptype = design["settings"], design["target"], design["prediction_type"]
    training, seed = settings["training"], settings["split"]["seed"]
    frame = data.load_training_rows(job["dataset"]["parquet"], contracts.Design.from_dict(design))
    frame = frame.iloc[:limit] if limit else frame
    train_df, val_df = data.split(frame, settings["split"]["train_ratio"], seed)
    prep = preprocessing.fit(train_df, design)
    prep["target"] = preprocessing.fit_target(frame[target], ptype)
    n_classes = len(prep["target"].get("classes") or [0])
    root = job["dataset"].get("files_root")
    train_x, val_x = preprocessing.transform(train_df, prep, root), preprocessing.transform(val_df, prep, root)
    shapes = {k: tuple(v) for k, v in prep["input_shapes"].items()}
    t_data = time.perf_counter() - t0 - t_import
    namespace: dict[str, Any] = {}
    exec(settings["code"]["architecture"], namespace)  # the same model code as the session
    model = namespace["build_model"](shapes, n_classes)
    model = namespace["compile_model"](model) or model
    width = int(model.output_shape[-1])
    train_y = preprocessing.encode_targets(train_df[target], prep["target"], width)
    val_y = preprocessing.encode_targets(val_df[target], prep["target"], width)
    epoch_times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epoch_times.append(time.perf_counter() - self.t)

    batch, epochs = int(training["batch_size"]), epochs or int(training["epochs"])
    train_feed, kw = feed(variant, train_x, train_y, batch, seed, True)
    val_feed, _ = feed(variant, val_x, val_y, batch, seed, False)
    fit_args = train_feed if isinstance(train_feed, tuple) else (train_feed,)
    if variant != "arrays-noval":
        kw["validation_data"] = val_feed
    model.fit(*fit_args, epochs=epochs, callbacks=[Timer()], verbose=0, **kw)
    rows = np.sort(np.random.default_rng(seed).choice(len(train_df), min(TRAIN_SAMPLE_ROWS, len(train_df)), False))
    base = BaseCallback(
        Scoring(ptype, settings["metric"], True),
        EvalSet(val_x, _true_values(val_df[target], prep["target"])),
        EvalSet({k: v[rows] for k, v in train_x.items()}, _true_values(train_df[target].iloc[rows], prep["target"])),
        lambda e: None,
        epochs,
    )
    scores = []
    for _ in range(2 if variant == "arrays" else 0):  # the first call also traces the predict function
        t = time.perf_counter()
        base.scores(model)
        scores.append(time.perf_counter() - t)
    Path(out_path).write_text(
        json.dumps(
            {
                "variant": variant,
                "n_train": len(train_df),
                "n_val": len(val_df),
                "epoch_s": epoch_times,
                "scores_s": scores[1:],
                "import_s": t_import,
                "data_s": t_data,
                "total_s": time.perf_counter() - t0,
            }
        )
    )


def run_plain(job_file: Path, variant: str, limit: int = 0, epochs: int = 0) -> dict[str, Any]:
    """Run plain_main in a fresh interpreter (the same environment a training child gets); its timings."""
    out = job_file.with_name(f"plain-{variant}-{time.monotonic_ns()}.json")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env = {k: v for k, v in env.items() if not k.startswith("FITSTUDIO_")}
    proc = subprocess.run(
        [
            PY,
            str(Path(__file__).resolve()),
            "--plain",
            str(job_file),
            "--variant",
            variant,
            "--out",
            str(out),
            "--limit",
            str(limit),
            "--epochs",
            str(epochs),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"plain run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


# ---------------------------------------------------------------- (a): the session


def run_session(stack: Stack, task_id: str) -> dict[str, Any]:
    """Train TASK_ID once on the worker; epoch times from the session's history."""
    from datetime import datetime

    t0 = time.monotonic()
    session = stack.train(task_id)
    final = stack.wait_session(session["id"], every=1.0)
    if final["status"] != "succeeded":
        raise RuntimeError(f"session ended {final['status']}: {final['error']}\n{stack.session_log(final['id'])}")
    log = stack.session_log(final["id"])
    match = re.search(r"(\d+) rows: (\d+) for training", log)
    span = (datetime.fromisoformat(final["ended_at"]) - datetime.fromisoformat(final["started_at"])).total_seconds()
    return {
        "session_id": final["id"],
        "n_train": int(match.group(2)) if match else None,
        "epoch_s": [float(h["time"]) for h in final["history"]],
        "post_to_end_s": time.monotonic() - t0,
        "running_s": span,
        "fitstudio_lines": [ln for ln in log.splitlines() if ln.startswith("[fitstudio]")],
    }


def workload(
    stack: Stack, name: str, quick: bool, repeats: int, variants: list[str], feed_rows: int = 0
) -> dict[str, Any]:
    """Prepare the dataset and ML task of workload NAME; interleave sessions and plain runs (feeds on FEED_ROWS)."""
    full, small, epochs, batch, default_repeats = SIZES[name]
    size = small if quick else full
    repeats = repeats or (1 if quick else default_repeats)
    t = time.perf_counter()
    if name == "mlp":
        path = tabular_csv(stack.folder / "mlp.csv", size)
    else:
        path = image_zip(stack.folder / "cnn.zip", size)
    made = time.perf_counter() - t
    t = time.perf_counter()
    dataset = stack.upload(path, name)
    upload_s = time.perf_counter() - t
    print(f"{name}: {size} rows/images made in {made:.1f}s, uploaded in {upload_s:.1f}s", flush=True)
    training = {"epochs": epochs, "batch_size": batch, "shuffle": True, "mode": "standard"}
    task = stack.ml_task(dataset["id"], "label", {"training": training})
    reps: list[dict[str, Any]] = []
    job_file: Path | None = None
    for i in range(repeats):
        with Interference() as during_session:
            fs = run_session(stack, task["id"])
        if job_file is None:
            job_file = stack.folder / f"{name}-job.json"
            job_file.write_text(json.dumps(stack.job(fs["session_id"], stack.folder / f"{name}-scratch")))
        with Interference() as during_plain:
            plain = run_plain(job_file, "arrays")
        with Interference() as during_noval:
            noval = run_plain(job_file, "arrays-noval")
        fs["foreign_cpu_share"], plain["foreign_cpu_share"] = during_session.share, during_plain.share
        noval["foreign_cpu_share"] = during_noval.share
        fs_t, plain_t = median(steady(fs["epoch_s"])), median(steady(plain["epoch_s"]))
        steps_t = median(steady(noval["epoch_s"]))
        scores_t = median(plain["scores_s"])
        rep = {
            "session": fs,
            "plain": plain,
            "plain_no_validation": noval,
            "fs_epoch_s": fs_t,
            "plain_epoch_s": plain_t,
            "plain_steps_s": steps_t,
            "scores_s": scores_t,
            "ratio_with_metrics": plain_t / fs_t,
            "ratio_raw_fit": plain_t / max(1e-9, fs_t - scores_t),
            "ratio_train_steps": steps_t / max(1e-9, fs_t - scores_t),
        }
        reps.append(rep)
        print(
            f"{name} rep {i + 1}: fitstudio {fs_t:.2f}s/epoch, plain {plain_t:.2f}s/epoch ({steps_t:.2f}s without "
            f"validation), metrics {scores_t:.2f}s -> ratio {rep['ratio_with_metrics']:.3f} with metrics, "
            f"{rep['ratio_train_steps']:.3f} train steps only; other processes' CPU share "
            f"{during_session.share:.0%} / {during_plain.share:.0%}",
            flush=True,
        )
    n_train = reps[0]["plain"]["n_train"]
    out: dict[str, Any] = {
        "size": size,
        "epochs": epochs,
        "batch_size": batch,
        "n_train": n_train,
        "n_val": reps[0]["plain"]["n_val"],
        "dataset_make_s": made,
        "upload_s": upload_s,
        "repeats": reps,
        "fitstudio_samples_per_s": n_train / median(r["fs_epoch_s"] for r in reps),
        "plain_samples_per_s": n_train / median(r["plain_epoch_s"] for r in reps),
        "ratio_with_metrics": median(r["ratio_with_metrics"] for r in reps),
        "ratio_raw_fit": median(r["ratio_raw_fit"] for r in reps),
        "ratio_train_steps": median(r["ratio_train_steps"] for r in reps),
        # Other work on the machine only ever slows an epoch down: the best epochs are the least disturbed.
        "ratio_best_epochs": min(t for r in reps for t in steady(r["plain"]["epoch_s"]))
        / min(t for r in reps for t in steady(r["session"]["epoch_s"])),
        "foreign_cpu_share_max": max(
            max(r["session"]["foreign_cpu_share"], r["plain"]["foreign_cpu_share"]) for r in reps
        ),
        "metrics_s": median(r["scores_s"] for r in reps),
    }
    if variants and job_file is not None:  # (c): feeds compared on a subset, 2 epochs (the second is timed)
        limit = 0 if quick else (feed_rows or VARIANT_ROWS[name])
        runs = {}
        for v in ["arrays", *[v for v in variants if v != "arrays"]]:
            with Interference() as during:
                runs[v] = run_plain(job_file, v, limit, 3)
            runs[v]["foreign_cpu_share"] = during.share
        base = median(steady(runs["arrays"]["epoch_s"]))
        out["feeds"] = {
            v: {
                "rows": limit or size,
                "epoch_s": median(steady(r["epoch_s"])),
                "speed_vs_arrays": base / median(steady(r["epoch_s"])),
                "run": r,
            }
            for v, r in runs.items()
        }
        print(
            f"{name} feeds (speed vs arrays): "
            + ", ".join(
                f"{v} {f['speed_vs_arrays']:.2f} ({f['run']['foreign_cpu_share']:.0%} other CPU)"
                for v, f in out["feeds"].items()
            ),
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--workloads", default="mlp,cnn")
    parser.add_argument("--repeats", type=int, default=0, help="interleaved repetitions (default: mlp 2, cnn 1)")
    parser.add_argument(
        "--feeds",
        default="sequence,tfdata",
        help="feeds compared with plain arrays on a subset (arrays, sequence, sequence-workers, tfdata; empty: none)",
    )
    parser.add_argument(
        "--feed-rows",
        type=int,
        default=0,
        help="rows the feeds are compared on (default: mlp 40000, cnn 2500; 0 rows = the default)",
    )
    parser.add_argument("--plain", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="arrays", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain:
        plain_main(args.plain, args.variant, args.out, args.limit, args.epochs)
        return 0
    feeds = [f.strip() for f in args.feeds.split(",") if f.strip()]
    load = [round(x, 2) for x in os.getloadavg()]
    figures: dict[str, Any] = {}
    with Stack("throughput", keep=args.keep) as stack:
        stack.start_api()
        stack.start_worker("tp")
        stack.project()
        for name in [w.strip() for w in args.workloads.split(",") if w.strip()]:
            figures[name] = w = workload(stack, name, args.quick, args.repeats, feeds, args.feed_rows)
            rows = [
                ("train samples / epoch", w["n_train"]),
                ("batch size", w["batch_size"]),
                ("fitstudio samples/s (with metrics)", w["fitstudio_samples_per_s"]),
                ("plain model.fit samples/s", w["plain_samples_per_s"]),
                ("metrics time per epoch (s)", w["metrics_s"]),
                ("ratio with metrics (target >= 0.90)", w["ratio_with_metrics"]),
                ("ratio raw fit (metrics subtracted)", w["ratio_raw_fit"]),
                ("ratio of training steps alone (plain fit without validation)", w["ratio_train_steps"]),
                ("ratio of the best epochs (with metrics)", w["ratio_best_epochs"]),
                ("other processes' CPU share, worst run", w["foreign_cpu_share_max"]),
            ]
            for v, f in w.get("feeds", {}).items():
                rows.append((f"feed {v}: epoch speed vs arrays ({f['rows']} rows)", f["speed_vs_arrays"]))
            show(f"throughput {name}", rows)
    write_result("throughput", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
