"""The image feed alone (issue 23): standard mode's tf.data pipeline over uint8 images vs Keras's own feed of the
same images as float32 arrays, epoch by epoch, without a model.

    .venv/bin/python bench/image_feed.py [--quick] [--sizes 2500,20000] [--epochs 4] [--repeats 2]

For each size (random 64×64×3 images, batch 32, shuffled), each variant in a fresh process, interleaved over the
repeats: "arrays" (the images divided by 255 into float32, fed by Keras's array adapter, as `model.fit(x, y,
batch_size=32, shuffle=True)` feeds them), "tfdata" (`worker.runtime.fit.gathered_batches`: the uint8 images,
each batch scaled; images over `HELD_AS_TENSOR_BYTES` are read a batch at a time, smaller ones copied into
tensors), "tfdata-held" (the same, the images always copied into tensors, as before the threshold) and
"tfdata-rewrites" (the same with tf.data's default graph rewrites on, as it was before issue 23) and "sequence" (the
advanced mode's `build_train_sequence_with_batch_size`, `core.sequences.ArraySequence` over the uint8 images,
through the tf.data dataset Keras's PyDataset adapter makes of it in model.fit). Each epoch makes a new iterator
(as Keras does at each epoch) and pulls every batch to the host. `--variants` runs some of them.
Per variant: the epochs' wall and CPU time (the process's, all threads: other work on the host does not inflate
it), the first epoch apart; from the feed's creation to its first batch; the process's resident memory once the
data is held and at its peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, base_args, median, show, write_result  # noqa: E402

VARIANTS = ("arrays", "tfdata", "tfdata-held", "tfdata-rewrites", "sequence")
BATCH = 32


def rss_mb() -> float:
    """The process's resident memory now (MiB)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def dataset(variant: str, images: Any, y: Any) -> Any:
    """VARIANT's tf.data dataset of (inputs, targets) batches."""
    import tensorflow as tf

    from worker.runtime import fit
    from worker.runtime.fit import gathered_batches

    if variant == "sequence":
        return SequenceEpochs(images, y)
    if variant == "tfdata-held":
        fit.HELD_AS_TENSOR_BYTES = 1 << 62
    if variant == "arrays":
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

        x = {"image": images.astype("float32") / 255.0}
        return ArrayDataAdapter(x, y, batch_size=BATCH, shuffle=True).get_tf_dataset()
    ds = gathered_batches({"image": images}, y, BATCH, True, 1)
    if variant == "tfdata-rewrites":
        options = tf.data.Options()
        options.experimental_optimization.apply_default_optimizations = True
        ds = ds.with_options(options)
    return ds


class SequenceEpochs:
    """The training sequence as model.fit feeds it on TensorFlow: each iteration one epoch of the tf.data dataset
    Keras's PyDataset adapter makes, between the adapter's epoch hooks (a new order each epoch)."""

    def __init__(self, images: Any, y: Any) -> None:
        from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

        from core.sequences import ArraySequence

        sequence = ArraySequence({"image": images}, y, BATCH, shuffle=True, seed=1)
        self.adapter = PyDatasetAdapter(sequence, shuffle=True)
        self.dataset = self.adapter.get_tf_dataset()

    def __iter__(self) -> Any:
        self.adapter.on_epoch_begin()
        yield from self.dataset
        self.adapter.on_epoch_end()


def child(variant: str, size: int, epochs: int) -> dict[str, Any]:
    """Feed EPOCHS epochs of SIZE images as VARIANT in this process; its timings and memory."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (size, 64, 64, 3), dtype=np.uint8)
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, size)]
    tf.constant(0)  # TensorFlow's own start-up memory, before the data's
    base = rss_mb()
    created = time.perf_counter()
    ds = dataset(variant, images, y)
    held = rss_mb()
    walls, cpus, batches, first_batch = [], [], 0, 0.0
    for _ in range(epochs):
        t, c = time.perf_counter(), time.process_time()
        for _batch in ds:
            batches += 1
            first_batch = first_batch or time.perf_counter() - created
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "variant": variant,
        "size": size,
        "batches": batches,
        "epoch_s": walls,
        "epoch_cpu_s": cpus,
        "first_batch_s": first_batch,
        "rss_before_data_mb": base,
        "rss_with_data_mb": held,
        "peak_rss_mb": peak,
        "images_uint8_mb": images.nbytes / 2**20,
    }


def run_child(variant: str, size: int, epochs: int) -> dict[str, Any]:
    """child() in a fresh interpreter (a training child's environment)."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    args = [PY, str(Path(__file__).resolve()), "--child", variant, "--size", str(size), "--epochs", str(epochs)]
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} at {size} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A variant's steady epochs (after the first) over its repeats, its first epochs and its memory."""
    steady = [t for r in runs for t in r["epoch_s"][1:]]
    steady_cpu = [t for r in runs for t in r["epoch_cpu_s"][1:]]
    return {
        "steady_epoch_s": {"median": median(steady), "min": min(steady), "max": max(steady), "n": len(steady)},
        "steady_epoch_cpu_s": {"median": median(steady_cpu), "min": min(steady_cpu), "max": max(steady_cpu)},
        "first_epoch_s": [r["epoch_s"][0] for r in runs],  # its first iterator: the rewrites, when on
        "first_epoch_cpu_s": [r["epoch_cpu_s"][0] for r in runs],
        "first_batch_s": [r["first_batch_s"] for r in runs],
        "data_held_mb": median(r["rss_with_data_mb"] - r["rss_before_data_mb"] for r in runs),
        "peak_over_start_mb": median(r["peak_rss_mb"] - r["rss_before_data_mb"] for r in runs),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--sizes", default="2500,20000", help="images per run")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is reported apart)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which variants (arrays is always run)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.size, args.epochs)))
        return 0
    load = [round(x, 2) for x in os.getloadavg()]
    sizes = [300] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    epochs, repeats = (2, 1) if args.quick else (args.epochs, args.repeats)
    variants = ["arrays", *(v for v in args.variants.split(",") if v in VARIANTS and v != "arrays")]
    figures: dict[str, Any] = {"batch_size": BATCH, "epochs": epochs, "repeats": repeats}
    for size in sizes:
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for _ in range(repeats):
            for v in variants:
                runs[v].append(run_child(v, size, epochs))
        figures[str(size)] = fig = {v: summary(r) for v, r in runs.items()}
        arrays = fig["arrays"]
        for v in variants:
            f = fig[v]
            f["speed_vs_arrays"] = arrays["steady_epoch_s"]["median"] / f["steady_epoch_s"]["median"]
            f["cpu_speed_vs_arrays"] = arrays["steady_epoch_cpu_s"]["median"] / f["steady_epoch_cpu_s"]["median"]
        show(
            f"image feed, {size} images",
            [
                row
                for v in variants
                for row in (
                    (f"{v}: steady epoch s (median; min-max)", _spread(fig[v]["steady_epoch_s"])),
                    ("  CPU s per steady epoch", _spread(fig[v]["steady_epoch_cpu_s"])),
                    ("  CPU s of the first epoch(s)", ", ".join(f"{t:.3f}" for t in fig[v]["first_epoch_cpu_s"])),
                    ("  feed created to first batch (s)", ", ".join(f"{t:.3f}" for t in fig[v]["first_batch_s"])),
                    (
                        "  speed vs arrays: wall, CPU",
                        f"{fig[v]['speed_vs_arrays']:.2f}, {fig[v]['cpu_speed_vs_arrays']:.2f}",
                    ),
                    (
                        "  data held, peak over start (MiB)",
                        f"{fig[v]['data_held_mb']:.0f}, {fig[v]['peak_over_start_mb']:.0f}",
                    ),
                )
            ],
        )
    write_result("image_feed", args.quick, figures, load)
    return 0


def _spread(s: dict[str, float]) -> str:
    return f"{s['median']:.3f}; {s['min']:.3f}-{s['max']:.3f}"


if __name__ == "__main__":
    sys.exit(main())
