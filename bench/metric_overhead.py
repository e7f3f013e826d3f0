"""Benchmark 2: what the base callbacks' metrics add to an epoch (20k validation rows; binary and multiclass).

    .venv/bin/python bench/metric_overhead.py [--quick] [--train-rows 80000] [--val-rows 20000] [--epochs 5]

In this process, on synthetic tabular data (24 numeric + 6 categorical columns, fitstudio's own preprocessing
and the ML task's default MLP, batch size 32): EPOCHS epochs of fit the way a standard-mode session feeds it
(the arrays themselves) without validation_data, as a session trains (its validation is the base callbacks'
own forward pass); the epochs after the first are timed (median, min–max over them). Then
`BaseCallback.scores` (what runs at every epoch end: validation loss and all metrics on the validation rows
+ a 2000-row train sample), split into its forward-pass part and its metric-computation part, each metric
timed alone (on a freshly prepared outcome, with what it shares with other metrics). Overhead = scores ÷
(training steps + scores), the share of a session's epoch; target <= 5 %. For comparison, `model.evaluate`
on the validation rows at fitstudio's validation batch (1024) is what a hand-written script's Keras validation
pass (loss and compiled metrics only) costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
warnings.filterwarnings("ignore", message="The structure of `inputs`")

from bench.common import base_args, median, show, write_result  # noqa: E402
from bench.datasets import tabular_frame  # noqa: E402


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of FN over REPEATS calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return median(times)


def make_arrays(ptype: str, n_train: int, n_val: int) -> dict[str, Any]:
    """Synthetic rows through fitstudio's preprocessing: inputs, encoded targets and true values."""
    import numpy as np

    from core import preprocessing
    from worker.runtime.trainer import TRAIN_SAMPLE_ROWS, _true_values

    frame = tabular_frame(n_train + n_val, seed=1)
    if ptype == "multiclass":
        score = frame[[f"x{i}" for i in range(4)]].sum(axis=1).to_numpy()
        frame["label"] = np.array(["a", "b", "c", "d", "e"])[
            np.digitize(score, np.quantile(score, [0.2, 0.4, 0.6, 0.8]))
        ]
    features = {
        c: {"role": "input", "type": "numeric" if c.startswith("x") else "categorical"}
        for c in frame.columns
        if c != "label"
    }
    design = {"settings": {"features": features, "text": {}, "image": {}}, "target": "label", "prediction_type": ptype}
    train_df, val_df = frame.iloc[:n_train].reset_index(drop=True), frame.iloc[n_train:].reset_index(drop=True)
    prep = preprocessing.fit(train_df, design)
    n_classes = len(prep["target"]["classes"])
    rows = np.sort(np.random.default_rng(0).choice(n_train, min(TRAIN_SAMPLE_ROWS, n_train), replace=False))
    return {
        "train_x": preprocessing.transform(train_df, prep),
        "val_x": preprocessing.transform(val_df, prep),
        "train_y": preprocessing.encode_targets(train_df["label"], prep["target"], n_classes),
        "val_y": preprocessing.encode_targets(val_df["label"], prep["target"], n_classes),
        "val_true": _true_values(val_df["label"], prep["target"]),
        "rows": rows,
        "train_true": _true_values(train_df["label"].iloc[rows], prep["target"]),
        "shapes": {k: tuple(v) for k, v in prep["input_shapes"].items()},
        "n_classes": n_classes,
    }


def epoch_times(model: Any, a: dict[str, Any], batch: int, epochs: int) -> tuple[list[float], list[float]]:
    """The steady epochs' wall and CPU seconds (the first, which traces, left out) of EPOCHS epochs of fit on the
    arrays, without validation_data, as a session trains (its validation is the base callbacks' forward pass)."""
    import keras

    times: list[float] = []
    cpu: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.t)
            cpu.append(time.process_time() - self.cpu)

    model.fit(a["train_x"], a["train_y"], batch_size=batch, epochs=epochs, verbose=0, shuffle=True, callbacks=[Timer()])
    return times[1:], cpu[1:]


def timed_spread(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median, least and greatest wall time of FN over REPEATS calls (after one warm-up call), and the median of
    the process's CPU time (all threads; what other work on the host does not inflate)."""
    fn()
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"median": median(times), "min": min(times), "max": max(times), "n": repeats, "cpu_median": median(cpu)}


def one_type(ptype: str, n_train: int, n_val: int, repeats: int, epochs: int) -> dict[str, Any]:
    """All figures for one prediction type."""
    import numpy as np

    from core import metrics
    from server.services.defaults import architecture_code
    from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring

    a = make_arrays(ptype, n_train, n_val)
    namespace: dict[str, Any] = {}
    exec(architecture_code(ptype, {"main": "main"}), namespace)
    model = namespace["compile_model"](namespace["build_model"](a["shapes"], a["n_classes"]))
    from worker.runtime.callbacks import PREDICT_BATCH

    steps, steps_cpu = epoch_times(model, a, 32, epochs)  # standard mode feeds Keras the arrays themselves
    validation = EvalSet(a["val_x"], a["val_true"])
    train_sample = EvalSet({k: v[a["rows"]] for k, v in a["train_x"].items()}, a["train_true"])
    base = BaseCallback(Scoring(ptype, "ROC AUC", True), validation, train_sample, lambda e: None, 2)
    scores_spread = timed_spread(lambda: base.scores(model), repeats)
    scores, epoch = scores_spread["median"], median(steps)
    predict_val = timed(lambda: validation.predict(model), repeats)
    predict_train = timed(lambda: train_sample.predict(model), repeats)
    predict_arrays = timed(lambda: model.predict(a["val_x"], batch_size=1024, verbose=0), repeats)
    predict_direct = timed(lambda: np.asarray(model(a["val_x"], training=False)), repeats)

    def direct_scores() -> None:  # the change proposed in docs/benchmarks.md: one direct forward pass per set
        for ev in (validation, train_sample):
            n = len(ev.y_true)
            out = np.concatenate(
                [
                    np.asarray(model({k: v[i : i + 8192] for k, v in ev.inputs.items()}, training=False))
                    for i in range(0, n, 8192)
                ]
            )
            metrics.compute(ptype, ev.y_true, out)

    proposed = timed(direct_scores, repeats)
    out_val = validation.predict(model)
    compute_val = timed(lambda: metrics.compute(ptype, a["val_true"], out_val), repeats)
    proba = metrics.probabilities(out_val)
    fn = metrics.binary if ptype == "binary" else metrics.multiclass
    each: dict[str, float] = {}
    names = list(fn(a["val_true"], proba))
    for name in names:  # each metric alone, with what it shares with others (an upper bound)
        each[name] = timed(lambda n=name: _only(ptype, n, a["val_true"], proba), max(1, repeats // 2))
    return {
        "n_train": n_train,
        "n_val": n_val,
        "batch_size": 32,
        "validation_batch_size": PREDICT_BATCH,
        "epochs": epochs,
        "steps_epoch_s": epoch,
        "steps_epoch_spread_s": {"min": min(steps), "max": max(steps), "n": len(steps)},
        "scores_s": scores,
        "scores_spread_s": scores_spread,
        # A session's epoch is its training steps, then the scores: the metrics' share of it.
        "overhead_vs_session_epoch": scores / (epoch + scores),
        # The same in CPU seconds (training steps and scores both use every core they can).
        "steps_epoch_cpu_s": median(steps_cpu),
        "scores_cpu_s": scores_spread["cpu_median"],
        "overhead_cpu": scores_spread["cpu_median"] / (median(steps_cpu) + scores_spread["cpu_median"]),
        "overhead_spread": {
            "min": scores_spread["min"] / (max(steps) + scores_spread["min"]),
            "max": scores_spread["max"] / (min(steps) + scores_spread["max"]),
        },
        # What Keras's own validation pass runs (loss and compiled metrics), at fitstudio's validation batch.
        "keras_validation_pass_s": timed(
            lambda: model.evaluate(a["val_x"], a["val_y"], batch_size=PREDICT_BATCH, verbose=0), repeats
        ),
        "predict_val_sequence_s": predict_val,
        "predict_train_sample_s": predict_train,
        "predict_val_arrays_s": predict_arrays,
        "predict_val_direct_call_s": predict_direct,
        "metrics_compute_val_s": compute_val,
        "metric_function_s": each,
        "scores_direct_forward_s": proposed,
        "overhead_direct_forward": proposed / (epoch + proposed),
    }


def _only(ptype: str, name: str, y: Any, proba: Any) -> None:
    """Metric NAME alone, on a freshly prepared outcome: nothing it shares with the other metrics (the ranking
    curves of ROC AUC and Average Precision, the one call behind Precision, Recall and F1) is computed yet."""
    from core.catalog import get_metric
    from core.metric_formulas import prepare

    get_metric(name).compute(prepare(ptype, y, proba))


def _range(s: dict[str, float]) -> str:
    """'least-greatest' of a spread."""
    return f"{s['min']:.4g}-{s['max']:.4g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--train-rows", type=int, default=80_000)
    parser.add_argument("--val-rows", type=int, default=20_000)
    parser.add_argument("--types", default="binary,multiclass")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per fit (the first is not timed)")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    n_train, n_val = (8_000, 2_000) if args.quick else (args.train_rows, args.val_rows)
    repeats = 2 if args.quick else 5
    figures: dict[str, Any] = {}
    for ptype in args.types.split(","):
        figures[ptype] = f = one_type(ptype, n_train, n_val, repeats, 3 if args.quick else args.epochs)
        show(
            f"metric overhead: {ptype}",
            [
                ("train rows / validation rows", f"{n_train} / {n_val}"),
                ("training steps of an epoch, fed like a session, no validation (s)", f["steps_epoch_s"]),
                ("  min-max over the steady epochs (s)", _range(f["steps_epoch_spread_s"])),
                ("base callbacks' scores() (s)", f["scores_s"]),
                ("  min-max over the repeats (s)", _range(f["scores_spread_s"])),
                ("share of a session epoch (target <= 0.05)", f["overhead_vs_session_epoch"]),
                ("  min-max", _range(f["overhead_spread"])),
                ("  the same in CPU time: scores / (steps + scores)", f["overhead_cpu"]),
                (
                    f"Keras validation pass (evaluate) at batch {f['validation_batch_size']}, for comparison (s)",
                    f["keras_validation_pass_s"],
                ),
                ("  predict validation: EvalSet's compiled forward calls (s)", f["predict_val_sequence_s"]),
                ("  predict 2000-row train sample (s)", f["predict_train_sample_s"]),
                ("  predict validation from arrays (s)", f["predict_val_arrays_s"]),
                ("  predict validation, direct model call (s)", f["predict_val_direct_call_s"]),
                ("  metrics.compute on validation (s)", f["metrics_compute_val_s"]),
                *((f"    {k} (s)", v) for k, v in f["metric_function_s"].items()),
                ("scores with a direct forward pass instead of model.predict (s)", f["scores_direct_forward_s"]),
                ("  its share of a session epoch", f["overhead_direct_forward"]),
            ],
        )
    write_result("metric_overhead", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
