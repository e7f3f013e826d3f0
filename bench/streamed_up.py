"""Issue 17: tables larger than memory trained through `fitstudio up`, against a hand-written tf.data pipeline.

    .venv/bin/python bench/streamed_up.py [--quick] [--sizes 1000000,5000000,20000000] [--epochs 2]

For each size N: a Parquet file of N rows × 30 float32 columns and a binary target (written a row group at a
time, so this script never holds it), uploaded to a fresh `fitstudio up` (API, worker, SQLite, embedded broker)
whose FITSTUDIO_TRAINING_STREAM_ABOVE_MB is 0 (every training streamed: the sizes compare the same path), and an
ML task trained on it: the default MLP, batch size 1024, EPOCHS epochs, early stopping off. While it trains, the
training child's memory is sampled every 0.25 s: its own memory (RssAnon + RssShmem: what the memory limit
counts) and its resident set (which also holds the pages of the memory-mapped inputs, which the kernel can drop).

Beside it, in one run, a plain script at the same niceness as a training (FITSTUDIO_TRAINING_NICE, 5) trains
the same architecture on the same Parquet with a hand-written tf.data pipeline, as a careful user would write it:
the Parquet read 64k rows at a time by a generator (standardised with precomputed means), the same 80/20 split by
row, each chunk shuffled, `rebatch` to 1024, prefetched, validation at batch 1024 every epoch.

Epoch time on both sides is the last epoch's (the first includes tracing); fitstudio's epoch also computes its
metrics (ROC AUC and the rest on the validation rows and the Train metrics' sample: a tenth of the training rows,
200 to 2,000). Ratio = plain ÷ fitstudio
(≥ 1: fitstudio as fast).

With --images N,…: a ZIP of N 128×128 JPEGs (10 classes) is uploaded and the default CNN trained on it at
128×128×3 twice, one epoch of --steps batches of 32 each (the epoch's length bounded so the run fits in minutes;
the feed still shuffles over every image): the first session builds the preprocessed cache, the second reuses it.
Recorded: the child's peak memory (which should not grow with N) and each session's preparation time.
Results: bench/results/streamed_up.json (or streamed_up-images.json with --sizes "").
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, base_args, show, write_result  # noqa: E402
from bench.stack import Stack  # noqa: E402

COLUMNS = 30
BATCH = 1024
GROUP_ROWS = 262_144
NICE = 5  # server/settings.py training_nice: the reference runs at a training's niceness


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """ROWS rows of 30 float32 columns and a 0/1 target (a noisy linear rule), a row group at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    weights = rng.normal(size=COLUMNS)
    schema = pa.schema([*(pa.field(f"x{i}", pa.float32()) for i in range(COLUMNS)), pa.field("y", pa.int8())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, GROUP_ROWS):
            n = min(GROUP_ROWS, rows - start)
            x = rng.normal(size=(n, COLUMNS)).astype("float32") * 3 + 10
            y = ((x - 10) @ weights + rng.normal(scale=2.0, size=n) > 0).astype("int8")
            arrays = [pa.array(x[:, i]) for i in range(COLUMNS)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


class ChildMemory:
    """The peak memory of the training children under a process, sampled every 0.25 s."""

    def __init__(self, root: int):
        self.root, self.owned, self.rss = root, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        from worker.child_process import owned_memory

        while not self._stop.wait(0.25):
            try:
                procs = psutil.Process(self.root).children(recursive=True)
            except psutil.Error:
                continue
            owned = rss = 0
            for proc in procs:
                try:
                    if "worker.runtime.child" in " ".join(proc.cmdline()):
                        owned, rss = owned + owned_memory(proc.pid), rss + proc.memory_info().rss
                except (OSError, psutil.Error):
                    pass
            self.owned, self.rss = max(self.owned, owned), max(self.rss, rss)

    def __enter__(self) -> ChildMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fitstudio_side(stack: Stack, up_pid: int, path: Path, epochs: int) -> dict[str, Any]:
    """Upload PATH, train the default MLP on it; timings and the child's peak memory."""
    t0 = time.monotonic()
    dataset = stack.upload(path, path.stem)
    upload_s = time.monotonic() - t0
    patch = {"training": {"epochs": epochs, "batch_size": BATCH, "early_stopping": {"enabled": False}}}
    task = stack.ml_task(int(dataset["id"]), "y", patch)
    t1 = time.monotonic()
    with ChildMemory(up_pid) as memory:
        final = stack.wait_session(stack.train(task["id"])["id"], timeout=7200, every=2.0)
    whole_s = time.monotonic() - t1
    log = stack.session_log(final["id"])
    if final["status"] != "succeeded":
        raise RuntimeError(f"session {final['status']}: {final['error']}\n{log[-3000:]}")
    prep = re.search(r"preprocessing took ([\d.]+)s", log)
    cgroup = re.search(r"peak memory (\d+) MB", log)
    return {
        "upload_s": upload_s,
        "whole_run_s": whole_s,
        "preprocessing_s": float(prep.group(1)) if prep else None,
        "epoch_s": [float(h["time"]) for h in final["history"]],
        "test_auc": final["history"][-1].get("Test ROC AUC"),
        "child_owned_peak_mib": memory.owned / 2**20,
        "child_rss_peak_mib": memory.rss / 2**20,
        "cgroup_peak_mib": int(cgroup.group(1)) if cgroup else None,  # page cache of the written inputs included
        "streamed": "streamed" in log,
        "architecture": task["settings"]["code"]["architecture"],
    }


PLAIN = r"""
import json, os, sys, time, resource
os.nice(int(sys.argv[4]))
import numpy as np, pyarrow.parquet as pq, tensorflow as tf, keras
from keras.layers import *  # the default architecture cell's imports
from keras.models import Model
path, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cols = [f"x{i}" for i in range(30)]
t0 = time.monotonic()
n = pq.ParquetFile(path).metadata.num_rows
order = np.random.default_rng(1337).permutation(n)  # the same 80/20 split by row as fitstudio's
train = np.zeros(n, bool); train[order[: round(n * 0.8)]] = True
sums = np.zeros(30); squares = np.zeros(30); count = 0
for b in pq.ParquetFile(path).iter_batches(65536, columns=cols):
    x = np.column_stack([b.column(c).to_numpy() for c in cols]).astype("float64")
    sums += x.sum(0); squares += (x * x).sum(0); count += len(x)
mean = sums / count; std = np.sqrt(squares / count - mean ** 2)
def chunks(which, shuffle):
    def gen():
        rng, offset = np.random.default_rng(), 0
        for b in pq.ParquetFile(path).iter_batches(65536, columns=cols + ["y"]):
            x = ((np.column_stack([b.column(c).to_numpy() for c in cols]) - mean) / std).astype("float32")
            y = b.column("y").to_numpy().astype("float32")[:, None]
            keep = train[offset : offset + len(x)] == which; offset += len(x)
            x, y = x[keep], y[keep]
            if shuffle:
                p = rng.permutation(len(x)); x, y = x[p], y[p]
            yield x, y
    spec = (tf.TensorSpec((None, 30), tf.float32), tf.TensorSpec((None, 1), tf.float32))
    return tf.data.Dataset.from_generator(gen, output_signature=spec).rebatch(1024).prefetch(tf.data.AUTOTUNE)
exec(open(sys.argv[5]).read())
model = compile_model(build_model({"main": (30,)}, 2))
times = []
class T(keras.callbacks.Callback):
    def on_epoch_begin(self, e, logs=None): self.t = time.monotonic()
    def on_epoch_end(self, e, logs=None): times.append(time.monotonic() - self.t)
model.fit(chunks(True, True), validation_data=chunks(False, False), epochs=epochs, callbacks=[T()], verbose=0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump({"epoch_s": times, "whole_run_s": time.monotonic() - t0, "rss_peak_mib": peak}, open(out, "w"))
"""


def plain_side(path: Path, epochs: int, architecture: str) -> dict[str, Any]:
    """The hand-written pipeline's run in a fresh interpreter."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        out, code = Path(tmp) / "out.json", Path(tmp) / "arch.py"
        # The default cell's head for a binary task is 2 wide with softmax over one-hot targets; the plain model
        # keeps the same body and a 1-wide sigmoid head, the usual hand-written choice, trained on 0/1 targets.
        code.write_text(
            architecture
            + "\n_build = build_model\n"
            + "def build_model(shapes, n):\n"
            + "    m = _build(shapes, n)\n"
            + "    return Model(m.inputs, Dense(1, activation='sigmoid')(m.layers[-2].output))\n"
            + "def compile_model(m):\n"
            + "    m.compile(optimizer='adam', loss='binary_crossentropy', metrics=['AUC'])\n"
            + "    return m\n"
        )
        args = [PY, "-c", PLAIN, str(path), str(epochs), str(out), str(NICE), str(code)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=7200)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
        return json.loads(out.read_text())


def one_size(stack: Stack, up_pid: int, rows: int, epochs: int, folder: Path) -> dict[str, Any]:
    """Both sides at ROWS rows."""
    path = folder / f"table_{rows}.parquet"
    t0 = time.monotonic()
    write_table(path, rows)
    made = {"rows": rows, "parquet_mb": path.stat().st_size / 2**20, "write_s": time.monotonic() - t0}
    ours = fitstudio_side(stack, up_pid, path, epochs)
    plain = plain_side(path, epochs, ours.pop("architecture"))
    path.unlink()
    made.update(fitstudio=ours, plain=plain, ratio_last_epoch=plain["epoch_s"][-1] / ours["epoch_s"][-1])
    return made


def _jpeg(args: tuple[int, int]) -> bytes:
    """One 128×128 JPEG of class LABEL: a gradient in the class's own colour, with noise (like a photo)."""
    import io

    import numpy as np
    from PIL import Image

    seed, label = args
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:128, 0:128]
    colour = np.array([(label * 97) % 256, (label * 53) % 256, (label * 29) % 256])
    base = ((x * rng.uniform(0.5, 2))[..., None] % 128) + colour[None, None, :] / 2
    pixels = np.clip(base + rng.normal(0, 12, (128, 128, 3)), 0, 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def write_images(path: Path, n: int, classes: int = 10) -> None:
    """A ZIP of N 128×128 JPEGs in one folder per class, encoded on every core."""
    import multiprocessing
    import zipfile

    with multiprocessing.Pool() as pool, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        jobs = [(i, i % classes) for i in range(n)]
        for (i, label), data in zip(jobs, pool.imap(_jpeg, jobs, chunksize=256), strict=True):
            archive.writestr(f"c{label}/{i:06d}.jpg", data)


def images_size(stack: Stack, up_pid: int, n: int, steps: int, folder: Path) -> dict[str, Any]:
    """N JPEGs uploaded and trained twice (default CNN at 128×128×3, one epoch of STEPS batches of 32, streamed
    over the preprocessed cache); the child's peak memory and each session's preparation time."""
    path = folder / f"images_{n}.zip"
    t0 = time.monotonic()
    write_images(path, n)
    made: dict[str, Any] = {"images": n, "zip_mb": path.stat().st_size / 2**20, "write_s": time.monotonic() - t0}
    t1 = time.monotonic()
    dataset = stack.upload(path, path.stem)
    made["upload_s"] = time.monotonic() - t1
    path.unlink()
    image = {"height": 128, "width": 128, "channels": 3}
    patch = {"image": image, "training": {"epochs": 1, "steps_per_epoch": steps, "early_stopping": {"enabled": False}}}
    task = stack.ml_task(int(dataset["id"]), "label", patch)
    for run in ("first", "second"):
        t2 = time.monotonic()
        with ChildMemory(up_pid) as memory:
            final = stack.wait_session(stack.train(task["id"])["id"], timeout=7200, every=2.0)
        log = stack.session_log(final["id"])
        if final["status"] != "succeeded":
            raise RuntimeError(f"session {final['status']}: {final['error']}\n{log[-3000:]}")
        prep = re.search(r"preprocessing took ([\d.]+)s", log)
        made[run] = {
            "whole_run_s": time.monotonic() - t2,
            "preprocessing_s": float(prep.group(1)) if prep else None,  # from the child's start: data + inputs
            "epoch_s": [float(h["time"]) for h in final["history"]],
            "child_owned_peak_mib": memory.owned / 2**20,
            "child_rss_peak_mib": memory.rss / 2**20,
            "cache": "built" if "image cache of 'image' built" in log else "reused",
            "streamed": "a batch at a time" in log,
        }
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    base_args(parser)
    parser.add_argument("--sizes", default="1000000,5000000,20000000")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", default="", help="image counts to run too, e.g. 20000,100000")
    parser.add_argument("--steps", type=int, default=100, help="batches of the image trainings' one epoch")
    parser.add_argument("--label", default="", help="added to the results file's name (keeps an earlier run's)")
    args = parser.parse_args()
    sizes = [20_000, 60_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    images = [300] if args.quick else [int(s) for s in args.images.split(",") if s]
    load_before = list(os.getloadavg())
    figures: dict[str, Any] = {"sizes": sizes, "epochs": args.epochs, "batch_size": BATCH, "images": images}
    with Stack("streamed-up", keep=args.keep, memory_mb=8000) as stack:
        os.environ["FITSTUDIO_TRAINING_STREAM_ABOVE_MB"] = "0"
        up, figures["readyz_s"] = stack.start_up()
        stack.project()
        for rows in sizes:
            figures[str(rows)] = result = one_size(stack, up.pid, rows, args.epochs, stack.folder)
            f, p = result["fitstudio"], result["plain"]
            print(
                f"{rows:,} rows: child owned {f['child_owned_peak_mib']:.0f} MiB (rss {f['child_rss_peak_mib']:.0f}), "
                f"epoch {f['epoch_s'][-1]:.1f}s vs plain {p['epoch_s'][-1]:.1f}s: {result['ratio_last_epoch']:.2f}",
                flush=True,
            )
        for n in images:
            steps = 5 if args.quick else args.steps
            figures[f"images_{n}"] = result = images_size(stack, up.pid, n, steps, stack.folder)
            print(f"{n:,} images: {result}", flush=True)
    show("streamed tables through fitstudio up", [(k, v) for k, v in figures.items()])
    name = "streamed_up" if sizes else "streamed_up-images"
    write_result(f"{name}-{args.label}" if args.label else name, args.quick, figures, load_before)


if __name__ == "__main__":
    main()
