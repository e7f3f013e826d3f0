"""The preprocessed image cache: build time vs a plain PIL decode in a multiprocessing pool, scaling with cores,
and a second session's image input time to its first batch with the cache vs without.

    .venv/bin/python bench/image_cache.py [--quick] [--sizes 2000,10000] [--repeats 3] [--first-batch-max 20000]
                                          [--keep]

For each size, the script writes that many 128×128 JPEGs (smooth gradients plus noise, like photos) into a dataset
folder laid out as the worker's data root, then measures, side by side in one run:

- `pool decode`: `multiprocessing.Pool(cores).map(load_image, paths)` stacked into one uint8 array (the reference
  of issue 17: PIL decode in a pool over the same files), and the same pool with 1 process (how the reference
  itself scales on this machine);
- `cache build`: `worker.image_cache_build.build` with all cores (decode + write into the memory-mapped file +
  rename), and again with 1 core (each build from scratch); the pool and the build with all cores run REPEATS
  times each, interleaved, the order alternating (medians, and each run's ratio);
- `first batch`: what a second session's child does for its image input before Keras sees a batch: the train
  split's rows (80 %, shuffled) through `preprocessing.load_images` (serial PIL decode without a cache; a gather from
  the memory-mapped cache with one) and the first `ArraySequence` batch. TensorFlow's import is outside the timing.
  Only up to FIRST_BATCH_MAX images: a larger dataset's session streams its images (nothing gathered up front),
  which `bench/start_latency.py --images N` measures through the whole stack.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import median, show, write_result  # noqa: E402
from core import image_cache, preprocessing  # noqa: E402
from worker import image_cache_build  # noqa: E402

SPEC = {"height": 128, "width": 128, "channels": 3}


def _write_jpeg(args: tuple[str, int]) -> None:
    from PIL import Image

    path, seed = args
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:128, 0:128]
    base = np.stack([(x * rng.uniform(0.5, 2)) % 256, (y * rng.uniform(0.5, 2)) % 256, (x + y) % 256], axis=-1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype("uint8")
    Image.fromarray(pixels).save(path, quality=90)


def make_dataset(root: Path, n: int) -> tuple[Path, Path]:
    """(parquet, files root) of N JPEGs in ROOT, laid out as a dataset folder of the data root."""
    files = root / "projects" / "B" / "datasets" / "1" / "files"
    (files / "img").mkdir(parents=True)
    names = [f"img/{i:06d}.jpg" for i in range(n)]
    with multiprocessing.Pool() as pool:
        pool.map(_write_jpeg, [(str(files / name), i) for i, name in enumerate(names)], chunksize=64)
    parquet = files.parent / "data.parquet"
    pd.DataFrame({"image": names, "label": [i % 10 for i in range(n)]}).to_parquet(parquet)
    return parquet, files


def _decode(path: str) -> np.ndarray:
    return preprocessing.load_image(path, SPEC)


def pool_decode(files: Path, names: list[str], cores: int) -> float:
    """Seconds of the reference: PIL decode in a multiprocessing pool, stacked into one array in the parent."""
    started = time.perf_counter()
    with multiprocessing.Pool(cores) as pool:  # the plain way: the platform's default start (fork on Linux)
        images = pool.map(_decode, [str(files / n) for n in names], chunksize=256)
    out = np.stack(images)
    assert out.shape == (len(names), 128, 128, 3)
    return time.perf_counter() - started


def cache_build(parquet: Path, files: Path, cores: int) -> float:
    """Seconds of one cache build from scratch with CORES processes."""
    shutil.rmtree(image_cache.folder_of(files), ignore_errors=True)
    started = time.perf_counter()
    _, built = image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=cores)
    assert built
    return time.perf_counter() - started


def first_batch(files: Path, names: list[str], cached: bool) -> float:
    """Seconds from the train split's rows to the first batch (load_images + ArraySequence[0])."""
    from core.sequences import ArraySequence  # imports Keras: before the timing, as TensorFlow's import is apart

    if not cached:
        shutil.rmtree(image_cache.folder_of(files), ignore_errors=True)
    rng = np.random.default_rng(0)
    rows = pd.Series([names[i] for i in rng.permutation(len(names))[: int(len(names) * 0.8)]], name="image")
    started = time.perf_counter()
    images = preprocessing.load_images(rows, SPEC, str(files))
    x, _ = ArraySequence({"image_preprocessed": images}, np.zeros(len(rows)), 64, shuffle=True)[0]
    elapsed = time.perf_counter() - started
    assert x["image_preprocessed"].shape == (64, 128, 128, 3)
    return elapsed


def measure_build(root: Path, n: int, cores: int, repeats: int) -> dict[str, float]:
    """Build figures for one dataset of N images (before TensorFlow is imported: the reference pool forks): the
    pool and the build REPEATS times each, interleaved, the order alternating; medians, and each run's figures."""
    started = time.perf_counter()
    parquet, files = make_dataset(root / f"n{n}", n)
    print(f"{n} JPEGs written in {time.perf_counter() - started:.1f}s", flush=True)
    names = image_cache_build.image_paths(parquet, "image")
    pool_decode(files, names[:256], cores)  # warm the page cache of the first files
    pools, builds = [], []
    for i in range(repeats):
        if i % 2:
            builds.append(cache_build(parquet, files, cores))
            pools.append(pool_decode(files, names, cores))
        else:
            pools.append(pool_decode(files, names, cores))
            builds.append(cache_build(parquet, files, cores))
        print(f"  run {i + 1}: pool {pools[-1]:.2f}s, build {builds[-1]:.2f}s", flush=True)
    figures = {
        "pool decode s": median(pools),
        "pool decode 1 process s": pool_decode(files, names, 1),
        f"cache build {cores} cores s": median(builds),
        "cache build 1 core s": cache_build(parquet, files, 1),
        "ratios build/pool per run": [round(b / p, 3) for b, p in zip(builds, pools, strict=True)],
    }
    figures["ratio build/pool decode"] = figures[f"cache build {cores} cores s"] / figures["pool decode s"]
    figures["speed-up 1 → all cores"] = figures["cache build 1 core s"] / figures[f"cache build {cores} cores s"]
    figures["images/s built"] = n / figures[f"cache build {cores} cores s"]
    return figures


def measure_first_batch(root: Path, n: int, cores: int) -> dict[str, float]:
    """Time to first batch with and without the cache for the dataset of N images."""
    files = root / f"n{n}" / "projects" / "B" / "datasets" / "1" / "files"
    parquet = files.parent / "data.parquet"
    names = image_cache_build.image_paths(parquet, "image")
    cache_build(parquet, files, cores)
    figures = {"first batch with cache s": first_batch(files, names, cached=True)}
    figures["first batch without cache s"] = first_batch(files, names, cached=False)
    figures["ratio first batch without/with cache"] = (
        figures["first batch without cache s"] / figures["first batch with cache s"]
    )
    return figures


def main() -> None:
    """Measure and write bench/results/image_cache.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved pool decodes and builds per size")
    parser.add_argument("--first-batch-max", type=int, default=20000, help="largest size whose first batch is timed")
    args = parser.parse_args()
    sizes = [600] if args.quick else [int(s) for s in args.sizes.split(",")]
    cores = image_cache_build.cpu_count()
    load_before = [round(x, 2) for x in os.getloadavg()]
    root = Path(tempfile.mkdtemp(prefix="bench-image-cache-"))
    figures: dict[str, object] = {"cores": cores}
    try:
        warm_parquet, warm_files = make_dataset(root / "warm", 2 * image_cache_build.CHUNK + 1)
        cache_build(warm_parquet, warm_files, cores)  # the page cache of Python's and PIL's modules
        repeats = 1 if args.quick else args.repeats
        results = {n: measure_build(root, n, cores, repeats) for n in sizes}
        for n in sizes:
            if n <= args.first_batch_max:  # above, a session streams its images (bench/start_latency.py --images)
                results[n].update(measure_first_batch(root, n, cores))
            figures[str(n)] = {k: round(v, 4) if isinstance(v, float) else v for k, v in results[n].items()}
            show(f"{n} JPEGs 128×128 → cache 128×128×3, {cores} cores", list(results[n].items()))
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    write_result("image_cache", args.quick, figures, load_before)


if __name__ == "__main__":
    main()
