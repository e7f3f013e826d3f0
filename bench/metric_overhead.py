"""Benchmark 2: what the base callbacks' metrics add to an epoch (20k validation rows; binary, multiclass; images).

    .venv/bin/python bench/metric_overhead.py [--quick] [--train-rows 80000] [--val-rows 20000] [--epochs 5]
                                              [--types binary,multiclass] [--images 2500,20000]

In this process, on synthetic tabular data (24 numeric + 6 categorical columns, fitstudio's own preprocessing
and the ML task's default MLP, batch size 32) and on synthetic 64×64×3 images of 4 classes (the default CNN;
80 % trained on, 20 % validation; held as uint8 as a session holds them), with glibc's malloc tuned as in a
training child (--malloc): EPOCHS epochs of fit fed as standard mode feeds a session (`fit.fast_training_data`:
Keras's feed of the arrays, the image feed for images, tf.data's autotuning off) without validation_data, as a session
trains (its validation is the base callbacks' own forward pass); the epochs after the first are timed (median,
min–max over them). Then `BaseCallback.scores` (what runs at every epoch end: validation loss and all metrics
on the validation rows + the Train metrics' sample, `trainer.train_sample_rows`), split into its forward-pass
part and its metric-computation part, each metric timed alone (on a freshly prepared outcome, with what it
shares with other metrics). Overhead = scores ÷ (training steps + scores), the share of a session's epoch;
target <= 5 %. Where the sample differs from the 2,000 rows it had before (fewer than 20,000 training rows),
the scores are also timed with a 2,000-row sample, side by side. `model.evaluate` on the validation rows at
fitstudio's validation batch (predict_rows) is what a hand-written script's Keras validation pass (loss and compiled
metrics only) costs; "added" = (scores - that pass) ÷ (steps + that pass): a session's epoch against a
hand-written epoch that validates with Keras.
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
from bench.datasets import class_images, tabular_frame  # noqa: E402
from bench.epoch_clock import epoch_clock  # noqa: E402
from worker.child_process import MALLOC_TUNING  # noqa: E402


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
    train_x, val_x = preprocessing.transform(train_df, prep), preprocessing.transform(val_df, prep)
    return {
        **_targets(train_df, val_df, prep),
        "train_x": train_x,
        "val_x": val_x,
        "val_fit_x": val_x,
    }


def make_images(n_train: int, n_val: int) -> dict[str, Any]:
    """Synthetic 64×64×3 images of 4 classes (bench/datasets.class_images): held as uint8 as a session holds them
    (its metrics' forward pass scales each batch), scaled to float32 [0, 1] for the fit."""
    import numpy as np
    import pandas as pd

    from core import preprocessing
    from core.sequences import as_model_input

    labels, pixels = zip(*class_images(n_train + n_val, seed=1), strict=True)
    images = np.stack(pixels)
    frame = pd.DataFrame({"label": [f"class_{c}" for c in labels]})
    design = {"settings": {"features": {}, "text": {}, "image": {}}, "target": "label", "prediction_type": "multiclass"}
    train_df, val_df = frame.iloc[:n_train].reset_index(drop=True), frame.iloc[n_train:].reset_index(drop=True)
    prep = preprocessing.fit(train_df, design)
    prep["input_shapes"] = {"image": list(images.shape[1:])}
    train_x, val_x = {"image": images[:n_train]}, {"image": images[n_train:]}
    return {
        **_targets(train_df, val_df, prep),
        "train_x": train_x,
        "val_x": val_x,
        "val_fit_x": {"image": as_model_input(val_x["image"])},
    }


def _targets(train_df: Any, val_df: Any, prep: dict[str, Any]) -> dict[str, Any]:
    """The encoded targets, true values, shapes and the Train metrics' sample rows, now and before (2,000 rows)."""
    import numpy as np

    from core import preprocessing
    from worker.runtime.trainer import TRAIN_SAMPLE_ROWS, _true_values, train_sample_rows

    n_train, n_classes = len(train_df), len(prep["target"]["classes"])
    samples = {}
    for key, size in (("rows", train_sample_rows(n_train)), ("rows_before", min(TRAIN_SAMPLE_ROWS, n_train))):
        samples[key] = np.sort(np.random.default_rng(0).choice(n_train, size, replace=False))
    return {
        "train_y": preprocessing.encode_targets(train_df["label"], prep["target"], n_classes),
        "val_y": preprocessing.encode_targets(val_df["label"], prep["target"], n_classes),
        "val_true": _true_values(val_df["label"], prep["target"]),
        **samples,
        "train_true": _true_values(train_df["label"].iloc[samples["rows"]], prep["target"]),
        "train_true_before": _true_values(train_df["label"].iloc[samples["rows_before"]], prep["target"]),
        "shapes": {k: tuple(v) for k, v in prep["input_shapes"].items()},
        "n_classes": n_classes,
    }


def epoch_times(model: Any, a: dict[str, Any], batch: int, epochs: int) -> tuple[list[float], list[float]]:
    """The steady epochs' wall and CPU seconds (the first, which traces, left out) of EPOCHS epochs of fit, fed and
    without validation_data as a session trains (its validation is the base callbacks' forward pass)."""
    from worker.runtime.fit import fast_training_data

    # Fed as standard mode feeds a session (uint8 images through the image feed, arrays through Keras's feed of them,
    # tf.data's autotuning off): Keras's fit on the arrays stalled, and epochs took 5.4 s or 10.2 s at random.
    fit = fast_training_data(
        a["train_x"], a["train_y"], {"batch_size": batch, "shuffle": True, "steps_per_epoch": None}, 1
    )
    clock = epoch_clock()
    model.fit(**fit, epochs=epochs, verbose=0, callbacks=[clock])
    return clock.wall[1:], clock.cpu[1:]


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


def one_type(ptype: str, a: dict[str, Any], input_kinds: dict[str, str], repeats: int, epochs: int) -> dict[str, Any]:
    """All figures for one prediction type on the arrays A (make_arrays or make_images)."""
    from server.services.defaults import architecture_code
    from worker.runtime.callbacks import PREDICT_BATCH, predict_rows

    namespace: dict[str, Any] = {}
    exec(architecture_code(ptype, input_kinds), namespace)
    model = namespace["compile_model"](namespace["build_model"](a["shapes"], a["n_classes"]))
    steps, steps_cpu = epoch_times(model, a, 32, epochs)
    epoch = median(steps)
    scored = _scores(ptype, model, a, repeats)
    scores = scored["scores_s"]
    spread = scored["scores_spread_s"]
    # What Keras's own validation pass runs (loss and compiled metrics), at fitstudio's validation batch, and at
    # PREDICT_BATCH rows when that differs (images on a CPU): "added" is against the faster of the two, so a
    # hand-written script is never charged for Keras's per-batch cost at a batch it would not choose.
    rows = predict_rows(a["val_x"])
    keras_at = {
        n: timed(lambda n=n: model.evaluate(a["val_fit_x"], a["val_y"], batch_size=n, verbose=0), repeats)
        for n in sorted({rows, PREDICT_BATCH})
    }
    keras_validation = min(keras_at.values())
    out = {
        "n_train": len(a["train_y"]),
        "n_val": len(a["val_y"]),
        "batch_size": 32,
        "validation_batch_size": rows,
        "epochs": epochs,
        "steps_epoch_s": epoch,
        "steps_epoch_spread_s": {"min": min(steps), "max": max(steps), "n": len(steps)},
        **scored,
        # A session's epoch is its training steps, then the scores: the metrics' share of it.
        "overhead_vs_session_epoch": scores / (epoch + scores),
        # The same in CPU seconds (training steps and scores both use every core they can).
        "steps_epoch_cpu_s": median(steps_cpu),
        "overhead_cpu": spread["cpu_median"] / (median(steps_cpu) + spread["cpu_median"]),
        "overhead_spread": {
            "min": spread["min"] / (max(steps) + spread["min"]),
            "max": spread["max"] / (min(steps) + spread["max"]),
        },
        "keras_validation_pass_s": keras_validation,
        "keras_validation_pass_at_s": {str(n): t for n, t in keras_at.items()},
        # A session's epoch against a hand-written one that validates with Keras (fit's validation_data): what the
        # base callbacks add beyond the validation pass any validated training makes.
        "added_vs_validated_epoch": (scores - keras_validation) / (epoch + keras_validation),
    }
    if "scores_before_s" in scored:
        out["overhead_before"] = scored["scores_before_s"] / (epoch + scored["scores_before_s"])
        out["added_before"] = (scored["scores_before_s"] - keras_validation) / (epoch + keras_validation)
    return out


def _scores(ptype: str, model: Any, a: dict[str, Any], repeats: int) -> dict[str, Any]:
    """BaseCallback.scores timed with the Train metrics' sample as it is and, when it differs, as it was (2,000 rows),
    and its parts: the forward passes, the metrics' computation, each metric alone."""
    from core import metrics
    from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring, predict_rows

    validation = EvalSet(a["val_x"], a["val_true"])

    def sample(rows: Any, true: Any) -> EvalSet:
        return EvalSet({k: v[rows] for k, v in a["train_x"].items()}, true)

    def scores_of(train_sample: EvalSet) -> dict[str, float]:
        base = BaseCallback(Scoring(ptype, "ROC AUC", True), validation, train_sample, lambda e: None, 2)
        return timed_spread(lambda: base.scores(model), repeats)

    train_sample = sample(a["rows"], a["train_true"])
    spread = scores_of(train_sample)
    out: dict[str, Any] = {"train_sample_rows": len(a["rows"]), "scores_s": spread["median"], "scores_spread_s": spread}
    out["scores_cpu_s"] = spread["cpu_median"]
    if len(a["rows_before"]) != len(a["rows"]):
        before = scores_of(sample(a["rows_before"], a["train_true_before"]))
        out.update(train_sample_rows_before=len(a["rows_before"]), scores_before_s=before["median"])
        out["scores_before_spread_s"] = before
    out_val = validation.predict(model)
    proba = metrics.probabilities(out_val)
    fn = metrics.binary if ptype == "binary" else metrics.multiclass
    out.update(
        predict_val_sequence_s=timed(lambda: validation.predict(model), repeats),
        predict_train_sample_s=timed(lambda: train_sample.predict(model), repeats),
        predict_val_arrays_s=timed(
            lambda: model.predict(a["val_fit_x"], batch_size=predict_rows(a["val_x"]), verbose=0), repeats
        ),
        metrics_compute_val_s=timed(lambda: metrics.compute(ptype, a["val_true"], out_val), repeats),
        # each metric alone, with what it shares with others (an upper bound)
        metric_function_s={
            name: timed(lambda n=name: _only(ptype, n, a["val_true"], proba), max(1, repeats // 2))
            for name in fn(a["val_true"], proba)
        },
    )
    return out


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
    parser.add_argument(
        "--images", default="2500,20000", help="image counts of the CNN cases (80 %% trained on); '' for none"
    )
    parser.add_argument(
        "--malloc",
        choices=["tuned", "default"],
        default="tuned",
        help="glibc's malloc as a training child has it (tuned, the default) or glibc's own defaults",
    )
    args = parser.parse_args(argv)
    if args.malloc == "tuned" and any(os.environ.get(k) != v for k, v in MALLOC_TUNING.items()):
        # glibc reads its tuning when a process starts: run again with the training child's. With glibc's defaults
        # the CNN's epochs here took 5.2 s or 10 s at random (page faults), which hid the figures being compared.
        script = str(Path(__file__).resolve())
        given = sys.argv[1:] if argv is None else argv
        os.execve(sys.executable, [sys.executable, script, *given], {**os.environ, **MALLOC_TUNING})
    load = [round(x, 2) for x in os.getloadavg()]
    n_train, n_val = (8_000, 2_000) if args.quick else (args.train_rows, args.val_rows)
    repeats, epochs = (2, 3) if args.quick else (5, args.epochs)
    figures: dict[str, Any] = {}
    for ptype in [t for t in args.types.split(",") if t]:
        figures[ptype] = one_type(ptype, make_arrays(ptype, n_train, n_val), {"main": "main"}, repeats, epochs)
        _show(f"metric overhead: {ptype}", figures[ptype])
    for count in [500] if args.quick else [int(n) for n in args.images.split(",") if n]:
        n_images_train = int(count * 0.8)
        a = make_images(n_images_train, count - n_images_train)
        figures[f"images_{count}"] = one_type("multiclass", a, {"image": "image"}, repeats, epochs)
        _show(f"metric overhead: default CNN, {count} images of 64x64x3", figures[f"images_{count}"])
    # A string, not a mapping: run_all reads every mapping among the figures as a case.
    figures["malloc_env"] = " ".join(sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("MALLOC_")))
    write_result("metric_overhead", args.quick, figures, load)
    return 0


def _show(title: str, f: dict[str, Any]) -> None:
    rows: list[tuple[str, Any]] = [
        ("train rows / validation rows", f"{f['n_train']} / {f['n_val']}"),
        ("training steps of an epoch, fed like a session, no validation (s)", f["steps_epoch_s"]),
        ("  min-max over the steady epochs (s)", _range(f["steps_epoch_spread_s"])),
        (f"base callbacks' scores(), Train metrics on {f['train_sample_rows']} rows (s)", f["scores_s"]),
        ("  min-max over the repeats (s)", _range(f["scores_spread_s"])),
        ("share of a session epoch (target <= 0.05)", f["overhead_vs_session_epoch"]),
        ("  min-max", _range(f["overhead_spread"])),
        ("  the same in CPU time: scores / (steps + scores)", f["overhead_cpu"]),
        *(
            (f"Keras validation pass (evaluate) at batch {n} (s)", t)
            for n, t in f.get("keras_validation_pass_at_s", {}).items()
        ),
        ("added beyond the faster pass: session epoch / validated plain epoch - 1", f["added_vs_validated_epoch"]),
    ]
    if "scores_before_s" in f:
        rows += [
            (f"  before: scores() with {f['train_sample_rows_before']} Train rows (s)", f["scores_before_s"]),
            ("  before: share of a session epoch", f["overhead_before"]),
            ("  before: added beyond the Keras validation pass", f["added_before"]),
        ]
    rows += [
        ("  predict validation: EvalSet's compiled forward calls (s)", f["predict_val_sequence_s"]),
        ("  predict the Train metrics' sample (s)", f["predict_train_sample_s"]),
        ("  predict validation from arrays (s)", f["predict_val_arrays_s"]),
        ("  metrics.compute on validation (s)", f["metrics_compute_val_s"]),
        *((f"    {k} (s)", v) for k, v in f["metric_function_s"].items()),
    ]
    show(title, rows)


if __name__ == "__main__":
    sys.exit(main())
