"""Benchmark 1's plain side (bench/throughput.py (b), (c), (d)): the session's job trained the hand-written way in a
fresh interpreter, fed as a variant says, its epochs, data loading, whole run and metrics timed.

    .venv/bin/python bench/throughput_plain.py JOB.json --variant arrays --out OUT.json [--limit N] [--epochs N]

throughput.py runs it through run_plain; alone, it is how one would time a plain fit of a session's frozen job.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT  # noqa: E402
from bench.epoch_clock import epoch_clock  # noqa: E402


def feed(variant: str, x: dict[str, Any], y: Any, batch: int, seed: int, train: bool) -> tuple[Any, dict[str, Any]]:
    """What model.fit gets for VARIANT: (x or dataset, extra fit kwargs)."""
    from core.sequences import ArraySequence, as_model_input

    if variant in ("arrays", "arrays-noval"):  # float32 arrays, as a hand-written script would
        return ({k: as_model_input(v) for k, v in x.items()}, y), {"batch_size": batch, "shuffle": True}
    if variant in ("sequence", "sequence-workers"):  # fitstudio's feed today (workers: PyDataset's own threads)
        kw = {"workers": 2, "max_queue_size": 8} if variant == "sequence-workers" else {}
        return ArraySequence(x, y, batch, shuffle=train, seed=seed, **kw), {}
    from worker.runtime.fit import gathered_batches  # "tfdata": standard mode's image feed, for any data

    ds = gathered_batches(x, y, batch, train, seed)
    if variant in ("tfdata-rewrites", "tfdata-autotune"):  # the same as before issue 23's changes to it
        import tensorflow as tf

        options = tf.data.Options()
        if variant == "tfdata-rewrites":  # tf.data's default graph rewrites on
            options.experimental_optimization.apply_default_optimizations = True
        else:  # tf.data's autotuning on
            options.autotune.enabled = True
        ds = ds.with_options(options)
    return ds, {}


@dataclass(frozen=True)
class Prepared:
    """The job's data as a hand-written script prepares it (split, preprocessed), then its model and encoded targets
    (with_model)."""

    design: dict[str, Any]
    train_df: Any
    val_df: Any
    prep: dict[str, Any]
    train_x: dict[str, Any]
    val_x: dict[str, Any]
    train_y: Any = None
    val_y: Any = None
    model: Any = None


def prepare(job: dict[str, Any], limit: int) -> Prepared:
    """The job's first LIMIT rows (all when 0) split and preprocessed as the session does."""
    from core import contracts, data, preprocessing

    design = job["design"]
    settings, target, ptype = design["settings"], design["target"], design["prediction_type"]
    frame = data.load_training_rows(job["dataset"]["parquet"], contracts.Design.from_dict(design))
    frame = frame.iloc[:limit] if limit else frame
    train_df, val_df = data.split(frame, settings["split"]["train_ratio"], settings["split"]["seed"])
    prep = preprocessing.fit(train_df, design)
    prep["target"] = preprocessing.fit_target(frame[target], ptype)
    root = job["dataset"].get("files_root")
    train_x, val_x = preprocessing.transform(train_df, prep, root), preprocessing.transform(val_df, prep, root)
    return Prepared(design, train_df, val_df, prep, train_x, val_x)


def with_model(p: Prepared) -> Prepared:
    """P with the job's model built and compiled from its architecture cell, and the targets encoded for it."""
    from core import preprocessing

    target, prep = p.design["target"], p.prep
    shapes = {k: tuple(v) for k, v in prep["input_shapes"].items()}
    namespace: dict[str, Any] = {}
    exec(p.design["settings"]["code"]["architecture"], namespace)  # the same model code as the session
    model = namespace["build_model"](shapes, len(prep["target"].get("classes") or [0]))
    model = namespace["compile_model"](model) or model
    width = int(model.output_shape[-1])
    train_y = preprocessing.encode_targets(p.train_df[target], prep["target"], width)
    val_y = preprocessing.encode_targets(p.val_df[target], prep["target"], width)
    return replace(p, train_y=train_y, val_y=val_y, model=model)


def fit_timed(p: Prepared, variant: str, epochs: int) -> tuple[list[float], list[float]]:
    """Fit P's model fed as VARIANT for EPOCHS (the design's when 0), validating at fitstudio's validation batch
    unless VARIANT is arrays-noval: each epoch's wall and CPU seconds (the process's, all its threads: what other
    work on the host cannot inflate)."""
    settings = p.design["settings"]
    training, seed = settings["training"], settings["split"]["seed"]
    batch, epochs = int(training["batch_size"]), epochs or int(training["epochs"])
    rows = validation_rows(p)
    train_feed, kw = feed(variant, p.train_x, p.train_y, batch, seed, True)
    val_feed, _ = feed(variant, p.val_x, p.val_y, rows, seed, False)
    fit_args = train_feed if isinstance(train_feed, tuple) else (train_feed,)
    if variant != "arrays-noval":  # at fitstudio's validation batch (its forward pass), not the training batch
        kw["validation_data"] = val_feed
        if isinstance(val_feed, tuple):
            kw["validation_batch_size"] = rows
    clock = epoch_clock()
    p.model.fit(*fit_args, epochs=epochs, callbacks=[clock], verbose=0, **kw)
    return clock.wall, clock.cpu


def validation_rows(p: Prepared) -> int:
    """The rows per call of fitstudio's validation forward pass on P's inputs, which the script validates at too."""
    from worker.runtime.callbacks import predict_rows

    return predict_rows(p.val_x)


def final_evaluation(p: Prepared) -> None:
    """A script's evaluation on the validation rows after its fit, as a session's."""
    from core.sequences import as_model_input

    x = {k: as_model_input(v) for k, v in p.val_x.items()}
    p.model.evaluate(x, p.val_y, batch_size=validation_rows(p), verbose=0)


def metrics_seconds(p: Prepared, epochs: int) -> float:
    """One call of the base callbacks' scores (fitstudio's metrics) on P's model, traced by a first call."""
    import numpy as np

    from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring
    from worker.runtime.trainer import _true_values, train_sample_rows

    design, target, prep = p.design, p.design["target"], p.prep
    seed = design["settings"]["split"]["seed"]
    rows = np.sort(np.random.default_rng(seed).choice(len(p.train_df), train_sample_rows(len(p.train_df)), False))
    base = BaseCallback(
        Scoring(design["prediction_type"], design["settings"]["metric"], True),
        EvalSet(p.val_x, _true_values(p.val_df[target], prep["target"])),
        EvalSet(
            {k: v[rows] for k, v in p.train_x.items()}, _true_values(p.train_df[target].iloc[rows], prep["target"])
        ),
        lambda e: None,
        epochs,
    )
    base.scores(p.model)
    t = time.perf_counter()
    base.scores(p.model)
    return time.perf_counter() - t


def plain_main(job_path: str, variant: str, out_path: str, limit: int, epochs: int) -> None:
    """Train the job's model the hand-written way, fed as VARIANT (LIMIT rows, EPOCHS when > 0); write timings.
    It runs at the job's training niceness, as the session's child does (run_plain starts it in its own session,
    so the niceness covers its autogroup too): on a busy host a script at nice 0 would get more of the CPU than a
    session at the default 5."""
    from worker.runtime.limits import lower_priority

    job = json.loads(Path(job_path).read_text())
    lower_priority(int(job["limits"].get("nice") or 0))
    t0 = time.perf_counter()
    # What the run imports, timed apart from the data's preparation.
    import keras  # noqa: F401
    import numpy  # noqa: F401

    import core.contracts  # noqa: F401
    import core.data  # noqa: F401
    import core.preprocessing  # noqa: F401
    import worker.runtime.callbacks  # noqa: F401
    import worker.runtime.trainer  # noqa: F401

    t_import = time.perf_counter() - t0
    prepared = prepare(job, limit)
    t_data = time.perf_counter() - t0 - t_import
    prepared = with_model(prepared)
    epoch_times, epoch_cpu = fit_timed(prepared, variant, epochs)
    t_fit_end = time.perf_counter() - t0
    if variant == "arrays":
        final_evaluation(prepared)
    with tempfile.TemporaryDirectory() as tmp:
        prepared.model.save(Path(tmp) / "model.keras")  # as a session saves its model
    end_wall = time.time()
    design_epochs = int(job["design"]["settings"]["training"]["epochs"])
    scores = [metrics_seconds(prepared, epochs or design_epochs)] if variant == "arrays" else []  # after the run
    result = {
        "variant": variant,
        "n_train": len(prepared.train_df),
        "n_val": len(prepared.val_df),
        "validation_batch_size": validation_rows(prepared),
        "epoch_s": epoch_times,
        "epoch_cpu_s": epoch_cpu,
        "scores_s": scores,
        "import_s": t_import,
        "data_s": t_data,
        "fit_end_s": t_fit_end,
        "end_wall": end_wall,
        "nice": os.nice(0),
    }
    Path(out_path).write_text(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown, as a training child (it is after the timed part anyway)


def run_plain(job_file: Path, variant: str, limit: int = 0, epochs: int = 0) -> dict[str, Any]:
    """Run plain_main in a fresh interpreter (the same environment a training child gets, in a session of its own
    like the child); its timings, with whole_run_s = its spawn to the end of its model save."""
    out = job_file.with_name(f"plain-{variant}-{time.monotonic_ns()}.json")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env = {k: v for k, v in env.items() if not k.startswith("FITSTUDIO_")}
    args = [str(job_file), "--variant", variant, "--out", str(out), "--limit", str(limit), "--epochs", str(epochs)]
    start_wall = time.time()
    proc = subprocess.run(
        [PY, str(Path(__file__).resolve()), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        start_new_session=True,
    )
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"plain run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    result = json.loads(out.read_text())
    result["whole_run_s"] = result["end_wall"] - start_wall
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", help="a session's job document (JSON): bench/stack.py's Stack.job")
    parser.add_argument("--variant", default="arrays", help="arrays, arrays-noval, sequence, sequence-workers, tfdata…")
    parser.add_argument("--out", required=True, help="where the timings go (JSON)")
    parser.add_argument("--limit", type=int, default=0, help="the job's first rows only (0: all)")
    parser.add_argument("--epochs", type=int, default=0, help="epochs (0: the design's)")
    args = parser.parse_args(argv)
    plain_main(args.job, args.variant, args.out, args.limit, args.epochs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
