"""Streamed vs in-memory inputs feeding a model, on the GPU when there is one, on the CPU otherwise (issue 17).

    .venv/bin/python bench/gpu_feed.py [--quick] [--rows 200000] [--images 10000] [--epochs 3] [--repeats 2]
                                       [--batch 32] [--dir /some/disk] [--side 64] [--workloads mlp,cnn]

Synthetic data: a table of ROWS x 30 float32 features with a binary target (a small MLP) and IMAGES uint8 64x64x3
images in 10 classes (a small CNN; --side for another size). Each input is saved as a `.npy` file, mapped
read-only and wrapped in a `core.row_views.RowView` of the train split's rows (`core.data.split_rows`, 80 %), as
`worker/runtime/streamed_inputs.build` leaves a streamed training's inputs; the in-memory side holds the same rows
as arrays. Three feeds: "memory" and "streamed" as standard mode feeds them (`worker.runtime.fit.
fast_training_data`: float arrays straight to model.fit, uint8 images through gathered_batches; gathered_batches
over the RowViews), and "tf.data", the reference of issue 17: a pipeline written by hand over the same mapped file
(`handwritten`). Per workload, interleaved over the repeats (the order alternating), each feed: model.fit of a
fresh model, then its input pipeline alone (the same dataset iterated without a model; Keras's array adapter for
float arrays). Every epoch is timed, the first apart (tracing, the files' first read). Reported: steady samples/s,
the ratios streamed / memory and streamed / tf.data, and where `nvidia-smi` exists the GPU's utilisation and
memory sampled every 0.5 s during the fits' steady epochs (null without it). The files are written just before,
so the page cache holds them.

With KERAS_BACKEND=jax (a GPU machine with JAX but no TensorFlow build for its CUDA), the tf.data feeds cannot
run: the feeds are then "arrays" (float arrays held in memory, straight to model.fit: Keras's array adapter, the
reference), "memory" and "streamed" (the advanced mode's `build_train_sequence_with_batch_size` sequence,
`core.sequences.ArraySequence`, over the arrays and over the RowViews), and the ratios streamed / memory and
streamed / arrays.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX: take GPU memory as needed, as allow_growth

from bench.common import base_args, median, show, write_result  # noqa: E402

WORKLOADS = ("mlp", "cnn")
TF_FEEDS = ("memory", "streamed", "tf.data")
SEQUENCE_FEEDS = ("arrays", "memory", "streamed")  # any other Keras backend: no tf.data
REFERENCE = {TF_FEEDS: "tf.data", SEQUENCE_FEEDS: "arrays"}
FEATURES, SIDE, CHANNELS, CLASSES = 30, 64, 3, 10
SEED = 7


class GpuSampler:
    """`nvidia-smi`'s utilisation and memory of the GPU in use, every EVERY_S in a thread while the block runs
    (no samples without nvidia-smi)."""

    EVERY_S = 0.5
    QUERY = ("--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits")

    def __init__(self) -> None:
        self.tool = shutil.which("nvidia-smi")
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
        self.gpu = visible if visible and visible != "-1" else "0"  # TensorFlow's /GPU:0 is the first visible
        self.samples: list[tuple[float, float, float]] = []  # (monotonic time, utilisation %, memory MiB)
        self._done = threading.Event()

    def __enter__(self) -> GpuSampler:
        if self.tool:
            self._thread = threading.Thread(target=self._watch, name="gpu-sampler", daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(self.EVERY_S):
            try:
                out = subprocess.run(
                    [str(self.tool), f"--id={self.gpu}", *self.QUERY], capture_output=True, text=True, timeout=5
                ).stdout.split(",")
                self.samples.append((time.monotonic(), float(out[0]), float(out[1])))
            except (OSError, subprocess.SubprocessError, ValueError, IndexError):
                continue  # a sample missed, not the run

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self.tool:
            self._thread.join()

    def between(self, start: float, end: float) -> dict[str, Any] | None:
        """The samples taken from START to END summed up; None without nvidia-smi."""
        if not self.tool:
            return None
        picked = [(u, m) for t, u, m in self.samples if start <= t <= end]
        utils, memory = [u for u, _ in picked], [m for _, m in picked]
        if not picked:
            return {"samples": 0}
        return {"samples": len(picked), "util_mean_pct": sum(utils) / len(utils), "memory_max_mib": max(memory)}


def synthetic(workload: str, n: int, folder: Path, side: int) -> dict[str, Any]:
    """WORKLOAD's data (images SIDE x SIDE): its train rows as arrays (memory) and as a RowView over its `.npy` file
    (streamed)."""
    import numpy as np

    from core.data import split_rows
    from core.row_views import RowView

    rng = np.random.default_rng(SEED)
    if workload == "mlp":
        x = rng.standard_normal((n, FEATURES), dtype=np.float32)
        y = (x[:, :5].sum(axis=1) > 0).astype("float32")
    else:
        x = rng.integers(0, 256, (n, side, side, CHANNELS), dtype=np.uint8)
        y = np.eye(CLASSES, dtype="float32")[rng.integers(0, CLASSES, n)]
    train_rows, _ = split_rows(n, 0.8, SEED)
    path = folder / f"{workload}.npy"
    np.save(path, x)  # the same layout as streamed_inputs' _NpyWriter, mapped read-only as its finish() does
    view = RowView(np.load(path, mmap_mode="r"), np.arange(n, dtype=np.int64)).pick(train_rows)
    memory, file_mb = x[train_rows], path.stat().st_size / 2**20
    return {"memory": memory, "streamed": view, "y": y[train_rows], "file_mb": file_mb, "shape": x.shape[1:]}


def new_model(workload: str, shape: tuple[int, ...]) -> Any:
    """A fresh, seeded small MLP or CNN for inputs of SHAPE, compiled."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(SEED)
    if workload == "mlp":
        inputs = keras.Input(shape)
        h = layers.Dense(64, activation="relu")(inputs)
        outputs = layers.Dense(1, activation="sigmoid")(layers.Dense(64, activation="relu")(h))
        loss = "binary_crossentropy"
    else:
        inputs = keras.Input(shape)
        h = inputs
        for filters in (16, 32, 64):
            h = layers.MaxPooling2D()(layers.Conv2D(filters, 3, activation="relu", padding="same")(h))
        outputs = layers.Dense(CLASSES, activation="softmax")(layers.GlobalAveragePooling2D()(h))
        loss = "categorical_crossentropy"
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=loss)
    return model


def handwritten(data: dict[str, Any], batch: int) -> Any:
    """The reference (issue 17): a tf.data pipeline as a person writes it over the same memory-mapped `.npy` file
    (the streamed side's): the train rows' numbers shuffled each epoch, batched, each batch gathered from the mapped
    file in sorted order by a parallel `numpy_function`, uint8 scaled to [0, 1] as fitstudio's feed does, prefetched."""
    import numpy as np
    import tensorflow as tf

    view, y = data["streamed"], data["y"]
    source, rows = view.base, view.rows

    def take(picked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        picked = np.sort(picked)
        return source[rows[picked]], y[picked]

    def gather(picked: Any) -> tuple[Any, Any]:
        x, t = tf.numpy_function(take, [picked], [tf.as_dtype(source.dtype), tf.float32], stateful=False)
        x.set_shape((None, *source.shape[1:]))
        t.set_shape((None, *y.shape[1:]))
        return (tf.cast(x, tf.float32) / 255.0 if source.dtype == np.uint8 else x), t

    ds = tf.data.Dataset.range(len(y)).shuffle(len(y), seed=SEED, reshuffle_each_iteration=True).batch(batch)
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def backend() -> str:
    """The Keras backend the fits run on."""
    import keras

    return str(keras.backend.backend())


def feeds() -> tuple[str, ...]:
    """The feeds compared on this backend."""
    return TF_FEEDS if backend() == "tensorflow" else SEQUENCE_FEEDS


def fit_args(feed: str, data: dict[str, Any], batch: int) -> dict[str, Any]:
    """model.fit's data arguments for FEED, as standard mode builds them (the reference's as it is written); on
    another backend than TensorFlow, as the advanced mode's training sequence (or float arrays: "arrays")."""
    if feed == "tf.data":
        return {"x": handwritten(data, batch)}
    if feed == "arrays":
        x = data["memory"]
        x = x.astype("float32") / 255.0 if x.dtype.name == "uint8" else x
        return {"x": x, "y": data["y"], "batch_size": batch, "shuffle": True}
    if backend() != "tensorflow":
        from core.sequences import ArraySequence

        sequence = ArraySequence({"input": data[feed]}, data["y"], batch, shuffle=True, seed=SEED, single_input=True)
        return {"x": sequence}
    from worker.runtime.fit import fast_training_data

    training = {"batch_size": batch, "shuffle": True, "steps_per_epoch": None}
    return fast_training_data({"input": data[feed]}, data["y"], training, SEED, single_input=True)


def timed_fit(workload: str, feed: str, data: dict[str, Any], batch: int, epochs: int) -> dict[str, Any]:
    """model.fit of a fresh model on FEED for EPOCHS: each epoch's seconds, the GPU during the steady ones."""
    import keras

    spans: list[tuple[float, float]] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t = time.monotonic()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            spans.append((self.t, time.monotonic()))

    model = new_model(workload, data["shape"])
    with GpuSampler() as gpu:
        model.fit(**fit_args(feed, data, batch), epochs=epochs, callbacks=[Clock()], verbose=0)
    return {
        "epoch_s": [end - start for start, end in spans],
        "gpu": gpu.between(spans[1][0], spans[-1][1]),
        "placed_on": placement(model.weights[0].value),
    }


def placement(value: Any) -> str:
    """The device a variable's value is on (TensorFlow names it; a JAX array has a device or devices())."""
    device = getattr(value, "device", None)
    if device is None and hasattr(value, "devices"):
        device = next(iter(value.devices()))
    return str(device)


def timed_pipeline(feed: str, data: dict[str, Any], batch: int, epochs: int) -> dict[str, Any]:
    """FEED's input pipeline alone for EPOCHS (a new iterator each epoch, as Keras makes): seconds and batches."""
    walls, batches = [], 0
    epoch = pipeline_epochs(fit_args(feed, data, batch), batch)
    for _ in range(epochs):
        t = time.monotonic()
        for _batch in epoch():
            batches += 1
        walls.append(time.monotonic() - t)
    return {"epoch_s": walls, "batches_per_epoch": batches // epochs}


def pipeline_epochs(args: dict[str, Any], batch: int) -> Any:
    """A function giving one epoch's batches of model.fit's data ARGS, as model.fit iterates them."""
    engine = backend()
    if engine != "tensorflow":  # the iterator Keras's own adapter gives model.fit on this backend
        from keras.src.trainers.data_adapters import get_data_adapter

        adapter = get_data_adapter(args["x"], args.get("y"), batch_size=batch, shuffle=True)

        def adapted() -> Any:
            adapter.on_epoch_begin()
            yield from adapter.get_jax_iterator() if engine == "jax" else adapter.get_numpy_iterator()
            adapter.on_epoch_end()

        return adapted
    ds = args["x"]
    if "y" in args:  # float arrays: the dataset Keras's array adapter makes of them in model.fit
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

        ds = ArrayDataAdapter(args["x"], args["y"], batch_size=batch, shuffle=True).get_tf_dataset()
    return lambda: iter(ds)


def summary(n: int, fits: list[dict[str, Any]], pipes: list[dict[str, Any]]) -> dict[str, Any]:
    """One feed's steady figures over its repeats (first epochs apart)."""
    fit_steady = [t for r in fits for t in r["epoch_s"][1:]]
    pipe_steady = [t for r in pipes for t in r["epoch_s"][1:]]
    gpus = [r["gpu"] for r in fits if r["gpu"] and r["gpu"]["samples"]]
    return {
        "fit_samples_per_s": n / median(fit_steady),
        "fit_steady_epoch_s": fit_steady,
        "fit_first_epoch_s": [r["epoch_s"][0] for r in fits],
        "pipeline_samples_per_s": n / median(pipe_steady),
        "pipeline_batches_per_s": pipes[0]["batches_per_epoch"] / median(pipe_steady),
        "pipeline_steady_epoch_s": pipe_steady,
        "gpu_util_mean_pct": median(g["util_mean_pct"] for g in gpus) if gpus else None,
        "gpu_memory_max_mib": max(g["memory_max_mib"] for g in gpus) if gpus else None,
        "gpu_samples": [r["gpu"] for r in fits],
        "placed_on": fits[0]["placed_on"],
    }


def device_used() -> tuple[str, list[str], str]:
    """(the device the fits run on, the GPUs the backend sees, the first one's name), memory growth on for each
    (as a training with allow_growth: nvidia-smi then shows what is used, not all the card)."""
    if backend() == "jax":  # memory growth: XLA_PYTHON_CLIENT_PREALLOCATE=false, set before JAX is imported
        import jax

        found = [d for d in jax.devices() if d.platform == "gpu"]
        return ("/GPU:0" if found else "/CPU:0"), [str(d) for d in found], found[0].device_kind if found else ""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "") if gpus else ""
    return ("/GPU:0" if gpus else "/CPU:0"), [g.name for g in gpus], name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--rows", type=int, default=200_000, help="table rows (80 %% trained on)")
    parser.add_argument("--images", type=int, default=10_000, help="images (80 %% trained on)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (the first is reported apart)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dir", help="where the .npy files go (default: a temporary folder)")
    parser.add_argument("--side", type=int, default=SIDE, help="the images' height and width")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="which of mlp,cnn to run")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    if args.quick:
        args.rows, args.images, args.epochs, args.repeats = 4_000, 400, 2, 1
    import importlib

    import keras

    device, gpus, gpu_name = device_used()
    engine = backend()
    folder = Path(tempfile.mkdtemp(prefix="fitstudio-bench-gpu-feed-", dir=args.dir))
    figures: dict[str, Any] = {"device": device, "gpus": gpus, "gpu_name": gpu_name or None}
    figures.update(nvidia_smi=shutil.which("nvidia-smi"), backend=engine, batch_size=args.batch)
    figures.update({engine: importlib.import_module(engine).__version__, "keras": keras.__version__})
    figures.update(epochs=args.epochs, repeats=args.repeats, image=(args.side, args.side, CHANNELS))
    figures.update(cores=len(os.sched_getaffinity(0)))
    print(f"device: {device} {gpu_name}".rstrip() + f"; GPUs {engine} sees: {gpus or 'none'}")
    try:
        for workload in args.workloads.split(","):  # no tf.device scope: TensorFlow's placement, as in a child
            figures[workload] = measure(workload, args.rows if workload == "mlp" else args.images, folder, args)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    name = (
        "gpu_feed" + ("" if engine == "tensorflow" else f"-{engine}") + ("" if args.side == SIDE else f"-{args.side}")
    )
    write_result(name, args.quick, figures, load)
    return 0


def measure(workload: str, n: int, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """WORKLOAD's feeds side by side, interleaved over the repeats; printed and returned."""
    data = synthetic(workload, n, folder, args.side)
    compared = feeds()
    reference = REFERENCE[compared]
    runs: dict[str, tuple[list[Any], list[Any]]] = {feed: ([], []) for feed in compared}
    for r in range(args.repeats):
        for feed in compared if r % 2 == 0 else compared[::-1]:  # no feed always goes first
            runs[feed][0].append(timed_fit(workload, feed, data, args.batch, args.epochs))
            runs[feed][1].append(timed_pipeline(feed, data, args.batch, args.epochs))
    n_train = len(data["y"])
    fig: dict[str, Any] = {"train_rows": n_train, "file_mb": data["file_mb"]}
    fig.update({feed: summary(n_train, *runs[feed]) for feed in compared})
    mem, streamed = fig["memory"], fig["streamed"]
    fig["streamed_vs_memory"] = {
        "fit": streamed["fit_samples_per_s"] / mem["fit_samples_per_s"],
        "pipeline": streamed["pipeline_samples_per_s"] / mem["pipeline_samples_per_s"],
    }
    key = f"streamed_vs_{reference.replace('.', '_')}"
    fig[key] = {  # issue 17's target against tf.data: >= 0.9
        "fit": streamed["fit_samples_per_s"] / fig[reference]["fit_samples_per_s"],
        "pipeline": streamed["pipeline_samples_per_s"] / fig[reference]["pipeline_samples_per_s"],
    }
    rows = [(f"{workload}: train rows; file MiB", f"{n_train:,}; {data['file_mb']:.0f}")]
    for feed in compared:
        f = fig[feed]
        util = "" if f["gpu_util_mean_pct"] is None else f"; GPU {f['gpu_util_mean_pct']:.0f} % busy"
        where = f["placed_on"].rsplit("device:", 1)[-1]
        rows.append((f"{feed}: fit samples/s ({where}{util})", f"{f['fit_samples_per_s']:,.0f}"))
        rows.append((f"{feed}: pipeline alone samples/s", f"{f['pipeline_samples_per_s']:,.0f}"))
    rows.append(("streamed / memory: fit, pipeline", "{fit:.2f}, {pipeline:.2f}".format(**fig["streamed_vs_memory"])))
    rows.append((f"streamed / {reference}: fit, pipeline", "{fit:.2f}, {pipeline:.2f}".format(**fig[key])))
    show(f"{workload} fed from memory vs streamed", rows)
    return fig


if __name__ == "__main__":
    sys.exit(main())
