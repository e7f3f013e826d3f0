"""Slow epochs: standard mode's feeds with the base callbacks' metrics between epochs, with tf.data's autotuning off
(as they are now) and on (as they were), side by side.

    .venv/bin/python bench/epoch_stalls.py [--quick] [--workloads cnn,mlp] [--images 20000] [--rows 200000]
                                           [--epochs 6] [--repeats 3]

Each run is a fresh interpreter at the training's default niceness, 80 % of the rows trained on, batch 32, fed by
`worker.runtime.fit.fast_training_data` as a standard-mode session is fed, and after every epoch
`BaseCallback.scores` on the validation rows and the Train metrics' sample, as in a session. Workloads: "cnn", the
default CNN (the ML task's default architecture for one image input) on synthetic 64×64×3 images of 4 classes
(bench/datasets.class_images), fed by the image feed (`gathered_batches`); "mlp", the default MLP on 30 numbers
and 2 classes, fed by Keras's own pipeline for arrays (`keras_array_feed`). The variants, interleaved in each repeat:
- "now": the feed as it is (tf.data's autotuning off);
- "autotune": as before: the image feed with tf.data's autotuning on; for arrays, Keras's fit on the arrays;
- "autotune, no metrics": the same, nothing between epochs: whether the pause is what it needs.
Each steady epoch (after the first, which traces) records its wall time, the process's CPU time and their ratio
(the cores it used); an epoch is "slow" when it took over 1.5× the median of all "now" epochs of the workload.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, Interference, base_args, median, show, write_result  # noqa: E402
from bench.datasets import class_images  # noqa: E402
from bench.epoch_clock import epoch_clock  # noqa: E402

VARIANTS = {"now": (False, True), "autotune": (True, True), "autotune, no metrics": (True, False)}
SLOW = 1.5  # an epoch over this many times the median "now" epoch is a slow one


def child(workload: str, n_rows: int, epochs: int, autotune: bool, metrics: bool) -> None:
    """One run (in a fresh interpreter): print its steady epochs' wall and CPU seconds as JSON."""
    import numpy as np

    from server.services.defaults import architecture_code
    from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring
    from worker.runtime.limits import lower_priority
    from worker.runtime.trainer import train_sample_rows

    lower_priority(5)  # the training's default niceness (FITSTUDIO_TRAINING_NICE)
    import keras

    x, classes, kinds, shapes, n_classes = _data(workload, n_rows)
    n_train = int(n_rows * 0.8)
    y = keras.utils.to_categorical(classes, n_classes).astype("float32")
    train_x = {k: v[:n_train] for k, v in x.items()}
    namespace: dict[str, Any] = {}
    exec(architecture_code("multiclass", kinds), namespace)
    model = namespace["compile_model"](namespace["build_model"](shapes, n_classes))
    fit = _feed(train_x, y[:n_train], autotune)
    rows = np.sort(np.random.default_rng(0).choice(n_train, train_sample_rows(n_train), replace=False))
    base = BaseCallback(
        Scoring("multiclass", "ROC AUC", True),
        EvalSet({k: v[n_train:] for k, v in x.items()}, classes[n_train:]),
        EvalSet({k: v[rows] for k, v in train_x.items()}, classes[:n_train][rows]),
        lambda event: None,
        epochs,
    )
    clock = epoch_clock(base.scores if metrics else None)  # a session's base callbacks at every epoch's end
    model.fit(**fit, epochs=epochs, verbose=0, callbacks=[clock])
    seccomp = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("Seccomp:"))
    steady = {"wall_s": clock.wall[1:], "cpu_s": clock.cpu[1:]}
    print(json.dumps({**steady, "pid": os.getpid(), "seccomp_mode": int(seccomp)}))  # where it ran (isolation_cost)


def _data(workload: str, n_rows: int) -> tuple[dict[str, Any], Any, dict[str, str], dict[str, Any], int]:
    """WORKLOAD's inputs, class indices, input kinds, input shapes and class count: "cnn", 64×64×3 uint8 images of
    4 classes (bench/datasets.class_images); "mlp", 30 standardised numbers and 2 classes, as preprocessing gives."""
    import numpy as np

    if workload == "cnn":
        labels, pixels = zip(*class_images(n_rows, seed=1), strict=True)
        return {"image": np.stack(pixels)}, np.array(labels), {"image": "image"}, {"image": (64, 64, 3)}, 4
    numbers = np.random.default_rng(1).normal(size=(n_rows, 30)).astype("float32")
    classes = (numbers[:, :4].sum(axis=1) > 0).astype("int64")
    return {"main": numbers}, classes, {"main": "main"}, {"main": (30,)}, 2


def _feed(x: dict[str, Any], y: Any, autotune: bool) -> dict[str, Any]:
    """model.fit's data as standard mode gives it (fit.fast_training_data: the image feed, or Keras's own feed of
    the arrays), autotuning off; AUTOTUNE: as before, autotuning on (for arrays, Keras's fit on the arrays)."""
    import tensorflow as tf

    from worker.runtime.fit import fast_training_data

    fit = fast_training_data(x, y, {"batch_size": 32, "shuffle": True, "steps_per_epoch": None}, 1337)
    if autotune and "image" in x:
        options = tf.data.Options()
        options.autotune.enabled = True
        fit["x"] = fit["x"].with_options(options)
    elif autotune:
        fit = {"x": x, "y": y, "batch_size": 32, "shuffle": True}
    return fit


def one_run(workload: str, n_rows: int, epochs: int, variant: str) -> dict[str, Any]:
    """VARIANT's run in a fresh interpreter, with the other processes' CPU share meanwhile."""
    autotune, metrics = VARIANTS[variant]
    args = ["--child", workload, str(n_rows), str(epochs), str(int(autotune)), str(int(metrics))]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with Interference() as during:
        proc = subprocess.run([PY, __file__, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    run["cores"] = [c / w for w, c in zip(run["wall_s"], run["cpu_s"], strict=True)]
    run["foreign_cpu_share"] = during.share
    return run


def summary(runs: list[dict[str, Any]], reference: float) -> dict[str, Any]:
    """A variant's steady epochs over its runs: medians, spread, and how many took over SLOW × REFERENCE."""
    wall = [w for r in runs for w in r["wall_s"]]
    return {
        "epochs": len(wall),
        "wall_s": {"median": median(wall), "min": min(wall), "max": max(wall)},
        "cpu_s_median": median([c for r in runs for c in r["cpu_s"]]),
        "cores_median": median([c for r in runs for c in r["cores"]]),
        "slow_epochs": sum(w > SLOW * reference for w in wall),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--workloads", default="cnn,mlp")
    parser.add_argument("--images", type=int, default=20_000, help="the CNN's images")
    parser.add_argument("--rows", type=int, default=200_000, help="the MLP's rows")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per run (the first is not timed)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the variants")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        workload, (n_rows, epochs, autotune, metrics) = args.child[0], (int(v) for v in args.child[1:])
        child(workload, n_rows, epochs, bool(autotune), bool(metrics))
        return 0
    load = [round(x, 2) for x in os.getloadavg()]
    epochs, repeats = (3, 1) if args.quick else (args.epochs, args.repeats)
    sizes = {"cnn": 500, "mlp": 5_000} if args.quick else {"cnn": args.images, "mlp": args.rows}
    figures = {w: one_workload(w, sizes[w], epochs, repeats) for w in args.workloads.split(",") if w}
    write_result("epoch_stalls", args.quick, figures, load)
    return 0


def one_workload(workload: str, n_rows: int, epochs: int, repeats: int) -> dict[str, Any]:
    """The variants' runs on WORKLOAD, interleaved in each of REPEATS repeats; printed and returned."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for i in range(repeats):
        for variant in VARIANTS:
            runs[variant].append(one_run(workload, n_rows, epochs, variant))
            walls = [round(w, 2) for w in runs[variant][-1]["wall_s"]]
            print(f"{workload} repeat {i + 1} {variant}: {walls} s", flush=True)
    reference = median([w for r in runs["now"] for w in r["wall_s"]])
    figures: dict[str, Any] = {
        "rows": n_rows,
        "epochs": epochs,
        "repeats": repeats,
        "slow_factor": SLOW,
        "variants": {v: summary(r, reference) for v, r in runs.items()},
    }
    rows: list[tuple[str, Any]] = [("rows (80 % trained on); epochs per run, timed", f"{n_rows}; {epochs - 1}")]
    for v, f in figures["variants"].items():
        rows += [
            (
                f"{v}: steady epoch median (min-max) s",
                f"{f['wall_s']['median']:.2f} ({f['wall_s']['min']:.2f}-{f['wall_s']['max']:.2f})",
            ),
            ("  CPU s per epoch; cores used (medians)", f"{f['cpu_s_median']:.2f}; {f['cores_median']:.2f}"),
            (f"  slow epochs (> {SLOW} x the median 'now' epoch)", f"{f['slow_epochs']} of {f['epochs']}"),
        ]
    show(f"{workload}: epochs after the metrics' pause", rows)
    return figures


if __name__ == "__main__":
    sys.exit(main())
