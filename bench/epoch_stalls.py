"""Slow image epochs: the default CNN fed by the image feed, with the base callbacks' metrics between epochs, with
tf.data's autotuning off (as the feed is now) and on (as it was), side by side.

    .venv/bin/python bench/epoch_stalls.py [--quick] [--images 20000] [--epochs 6] [--repeats 3]

Each run is a fresh interpreter at the training's default niceness: the default CNN (the ML task's default
architecture for one image input) on synthetic 64×64×3 images of 4 classes (bench/datasets.class_images, 80 %
trained on), fed by `worker.runtime.fit.gathered_batches` as a standard-mode session feeds it, batch 32, and after
every epoch `BaseCallback.scores` on the validation images and the Train metrics' sample, as in a session. The
variants, interleaved in each repeat:
- "now": the feed as it is (tf.data's autotuning off);
- "autotune": the same feed with tf.data's autotuning on (`tf.data.Options().autotune.enabled`), as before;
- "autotune, no metrics": autotuning on, nothing between epochs: whether the pause is what it needs.
Each steady epoch (after the first, which traces) records its wall time, the process's CPU time and their ratio
(the cores it used); an epoch is "slow" when it took over 1.5× the median of all "now" epochs of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, Interference, base_args, median, show, write_result  # noqa: E402

VARIANTS = {"now": (False, True), "autotune": (True, True), "autotune, no metrics": (True, False)}
SLOW = 1.5  # an epoch over this many times the median "now" epoch is a slow one


def child(n_images: int, epochs: int, autotune: bool, metrics: bool) -> None:
    """One run (in a fresh interpreter): print its steady epochs' wall and CPU seconds as JSON."""
    import numpy as np

    from bench.datasets import class_images
    from server.services.defaults import architecture_code
    from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring
    from worker.runtime.fit import gathered_batches
    from worker.runtime.limits import lower_priority
    from worker.runtime.trainer import train_sample_rows

    lower_priority(5)  # the training's default niceness (FITSTUDIO_TRAINING_NICE)
    import keras
    import tensorflow as tf

    labels, pixels = zip(*class_images(n_images, seed=1), strict=True)
    images, classes = np.stack(pixels), np.array(labels)
    n_train = int(n_images * 0.8)
    y = keras.utils.to_categorical(classes, 4).astype("float32")
    namespace: dict[str, Any] = {}
    exec(architecture_code("multiclass", {"image": "image"}), namespace)
    model = namespace["compile_model"](namespace["build_model"]({"image": (64, 64, 3)}, 4))
    ds = gathered_batches({"image": images[:n_train]}, y[:n_train], 32, True, 1337)
    if autotune:
        options = tf.data.Options()
        options.autotune.enabled = True
        ds = ds.with_options(options)
    rows = np.sort(np.random.default_rng(0).choice(n_train, train_sample_rows(n_train), replace=False))
    base = BaseCallback(
        Scoring("multiclass", "ROC AUC", True),
        EvalSet({"image": images[n_train:]}, classes[n_train:]),
        EvalSet({"image": images[:n_train][rows]}, classes[:n_train][rows]),
        lambda event: None,
        epochs,
    )
    epochs_s: list[tuple[float, float]] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if metrics:
                base.scores(self.model)  # what a session's base callbacks run at every epoch's end
            epochs_s.append((time.perf_counter() - self.t, time.process_time() - self.cpu))

    model.fit(ds, epochs=epochs, verbose=0, callbacks=[Timer()])
    print(json.dumps({"wall_s": [w for w, _ in epochs_s[1:]], "cpu_s": [c for _, c in epochs_s[1:]]}))


def one_run(n_images: int, epochs: int, variant: str) -> dict[str, Any]:
    """VARIANT's run in a fresh interpreter, with the other processes' CPU share meanwhile."""
    autotune, metrics = VARIANTS[variant]
    args = ["--child", str(n_images), str(epochs), str(int(autotune)), str(int(metrics))]
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
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=6, help="epochs per run (the first is not timed)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the variants")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n_images, epochs, autotune, metrics = (int(v) for v in args.child)
        child(n_images, epochs, bool(autotune), bool(metrics))
        return 0
    load = [round(x, 2) for x in os.getloadavg()]
    n_images, epochs, repeats = (500, 3, 1) if args.quick else (args.images, args.epochs, args.repeats)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for i in range(repeats):
        for variant in VARIANTS:
            runs[variant].append(one_run(n_images, epochs, variant))
            print(f"repeat {i + 1} {variant}: {[round(w, 2) for w in runs[variant][-1]['wall_s']]} s", flush=True)
    reference = median([w for r in runs["now"] for w in r["wall_s"]])
    figures: dict[str, Any] = {
        "images": n_images,
        "epochs": epochs,
        "repeats": repeats,
        "slow_factor": SLOW,
        "variants": {v: summary(r, reference) for v, r in runs.items()},
    }
    rows: list[tuple[str, Any]] = [("images (80 % trained on); epochs per run, timed", f"{n_images}; {epochs - 1}")]
    for v, f in figures["variants"].items():
        rows += [
            (
                f"{v}: steady epoch median (min-max) s",
                f"{f['wall_s']['median']:.2f} ({f['wall_s']['min']:.2f}-{f['wall_s']['max']:.2f})",
            ),
            ("  CPU s per epoch; cores used (medians)", f"{f['cpu_s_median']:.2f}; {f['cores_median']:.2f}"),
            (f"  slow epochs (> {SLOW} x the median 'now' epoch)", f"{f['slow_epochs']} of {f['epochs']}"),
        ]
    show("epochs after the metrics' pause", rows)
    write_result("epoch_stalls", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
