"""Benchmark 2: what the base callbacks' metrics add to an epoch (20k validation rows; binary and multiclass).

    .venv/bin/python bench/metric_overhead.py [--quick] [--train-rows 80000] [--val-rows 20000]

In this process, on synthetic tabular data (24 numeric + 6 categorical columns, fitstudio's own preprocessing and
the ML task's default MLP, batch size 32): one epoch of fit the way a standard-mode session feeds it (the
arrays themselves, with Keras's validation loss); then `BaseCallback.scores` (what runs at every epoch end:
validation loss and all metrics on the validation rows + a 2000-row train sample), split into its model.predict
part and its metric-computation part, each sklearn metric timed alone. Overhead = scores / epoch. Target: <= 5 %.
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


def epoch_time(model: Any, a: dict[str, Any], feed: str, batch: int) -> float:
    """Median seconds of epochs 2 and 3 of fit (the first traces), fed like a session ('sequence') or 'arrays'."""
    import keras

    from core.sequences import ArraySequence

    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times.append(time.perf_counter() - self.t)

    if feed == "sequence":
        model.fit(
            ArraySequence(a["train_x"], a["train_y"], batch, shuffle=True),
            epochs=3,
            verbose=0,
            validation_data=ArraySequence(a["val_x"], a["val_y"], batch),
            callbacks=[Timer()],
        )
    else:
        model.fit(
            a["train_x"],
            a["train_y"],
            batch_size=batch,
            epochs=3,
            verbose=0,
            shuffle=True,
            validation_data=(a["val_x"], a["val_y"]),
            callbacks=[Timer()],
        )
    return median(times[1:])


def one_type(ptype: str, n_train: int, n_val: int, repeats: int) -> dict[str, Any]:
    """All figures for one prediction type."""
    import numpy as np

    from core import metrics
    from server.services.defaults import architecture_code
    from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring

    a = make_arrays(ptype, n_train, n_val)
    namespace: dict[str, Any] = {}
    exec(architecture_code(ptype, {"main": "main"}), namespace)
    model = namespace["compile_model"](namespace["build_model"](a["shapes"], a["n_classes"]))
    epoch = epoch_time(model, a, "arrays", 32)  # standard mode feeds Keras the arrays themselves
    validation = EvalSet(a["val_x"], a["val_true"])
    train_sample = EvalSet({k: v[a["rows"]] for k, v in a["train_x"].items()}, a["train_true"])
    base = BaseCallback(Scoring(ptype, "ROC AUC", True), validation, train_sample, lambda e: None, 2)
    scores = timed(lambda: base.scores(model), repeats)
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
    for name in names:  # each metric alone: the function recomputed, keeping only NAME (as an upper bound)
        each[name] = timed(lambda n=name: _only(fn, n, a["val_true"], proba), max(1, repeats // 2))
    return {
        "n_train": n_train,
        "n_val": n_val,
        "batch_size": 32,
        "epoch_arrays_s": epoch,
        "scores_s": scores,
        "overhead_vs_session_epoch": scores / epoch,
        "predict_val_sequence_s": predict_val,
        "predict_train_sample_s": predict_train,
        "predict_val_arrays_s": predict_arrays,
        "predict_val_direct_call_s": predict_direct,
        "metrics_compute_val_s": compute_val,
        "metric_function_s": each,
        "scores_direct_forward_s": proposed,
        "overhead_direct_forward": proposed / epoch,
    }


def _only(fn: Callable[..., dict[str, float]], name: str, y: Any, proba: Any) -> None:
    """Time one sklearn metric of FN by calling it through a patched dict (FN's other metrics are skipped)."""
    import sklearn.metrics as skm

    from core import metrics

    calls = {
        "Accuracy": "accuracy_score",
        "Precision": "precision_score",
        "Recall": "recall_score",
        "F1 Score": "f1_score",
        "Log Loss": "log_loss",
        "ROC AUC": "roc_auc_score",
        "Average Precision": "average_precision_score",
    }
    saved = {n: getattr(skm, n) for n in calls.values()}
    keep = calls.get(name)
    try:
        for n in calls.values():
            if n != keep:
                setattr(skm, n, lambda *a, **k: 0.0)  # the module metrics.py imports on use
        if name == "Cost Matrix Gain":
            metrics.cost_matrix_gain(y, proba[:, 1] >= 0.5)
        elif name == "Cumulative Lift":
            metrics.cumulative_lift(y, proba[:, 1])
        else:
            fn(y, proba)
    finally:
        for n, f in saved.items():
            setattr(skm, n, f)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--train-rows", type=int, default=80_000)
    parser.add_argument("--val-rows", type=int, default=20_000)
    parser.add_argument("--types", default="binary,multiclass")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    n_train, n_val = (8_000, 2_000) if args.quick else (args.train_rows, args.val_rows)
    repeats = 2 if args.quick else 5
    figures: dict[str, Any] = {}
    for ptype in args.types.split(","):
        figures[ptype] = f = one_type(ptype, n_train, n_val, repeats)
        show(
            f"metric overhead: {ptype}",
            [
                ("train rows / validation rows", f"{n_train} / {n_val}"),
                ("epoch, fed like a session: arrays, with Keras validation (s)", f["epoch_arrays_s"]),
                ("base callbacks' scores() (s)", f["scores_s"]),
                ("overhead vs session epoch (target <= 0.05)", f["overhead_vs_session_epoch"]),
                ("  predict validation via ArraySequence (s)", f["predict_val_sequence_s"]),
                ("  predict 2000-row train sample (s)", f["predict_train_sample_s"]),
                ("  predict validation from arrays (s)", f["predict_val_arrays_s"]),
                ("  predict validation, direct model call (s)", f["predict_val_direct_call_s"]),
                ("  metrics.compute on validation (s)", f["metrics_compute_val_s"]),
                *((f"    {k} (s)", v) for k, v in f["metric_function_s"].items()),
                ("scores with a direct forward pass instead of model.predict (s)", f["scores_direct_forward_s"]),
                ("  its overhead vs session epoch", f["overhead_direct_forward"]),
            ],
        )
    write_result("metric_overhead", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
