"""Building the preprocessed image caches (core/image_cache.py) in the worker, before the training child starts.

Images are decoded by a pool of processes over the worker's cores (`python -m core.image_cache`, which imports
only numpy and PIL), each writing its rows straight into the memory-mapped array (no pixels cross a pipe). A build
writes under a unique temporary name and renames when done, under an exclusive lock per cache, so two sessions
starting at once build it once and never see half of it. A use touches the array's mtime; the caches of all
datasets are kept under a total size by evicting the least recently used.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from numpy.lib.format import open_memmap

from core import image_cache, preprocessing

CHUNK = 64  # images per pool task: enough to amortise a task, few enough to balance the processes and show progress
Progress = Callable[[int, int], None]
SOURCE_ROOT = Path(image_cache.__file__).resolve().parents[1]  # where `core` is imported from


def cpu_count() -> int:
    """The cores this worker may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def image_paths(parquet: str | Path, column: str) -> list[str]:
    """The distinct image paths of COLUMN, in row order (missing values left out)."""
    values = pq.read_table(parquet, columns=[column]).column(0).to_pylist()
    return list(dict.fromkeys(str(v) for v in values if v is not None))


class _Chunks:
    """The chunks still to decode, taken one at a time by the decoding threads and processes."""

    def __init__(self, chunks: list[tuple[int, list[str]]]) -> None:
        self.left = deque(chunks)
        self.lock = threading.Lock()

    def take(self) -> tuple[int, list[str]] | None:
        """The next chunk, or None when all are taken."""
        with self.lock:
            return self.left.popleft() if self.left else None


def _run_decoder(header: dict[str, Any], chunks: _Chunks, on_chunk: Callable[[int, dict[str, str]], None]) -> None:
    """Feed chunks to one decoding process (`python -m core.image_cache`), two in flight, until none are left."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE_ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.image_cache"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(SOURCE_ROOT),
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write(json.dumps(header) + "\n")
        in_flight = 0
        while True:
            while in_flight < 2 and (chunk := chunks.take()) is not None:
                proc.stdin.write(json.dumps(chunk) + "\n")
                proc.stdin.flush()
                in_flight += 1
            if not in_flight:
                break
            line = proc.stdout.readline()
            if not line:
                break
            answer = json.loads(line)
            on_chunk(int(answer["done"]), answer["bad"])
            in_flight -= 1
    finally:
        proc.stdin.close()
        error = proc.stderr.read()
        code = proc.wait()
    if code != 0 or in_flight:
        raise OSError(f"an image decoding process failed: {error.strip()[-500:]}")


def decode_all(
    array_path: Path, files_root: str, paths: list[str], spec: dict[str, Any], workers: int, progress: Progress
) -> dict[str, str]:
    """Fill the array file with PATHS decoded by WORKERS processes (this one and WORKERS - 1 others); the failures."""
    chunks = _Chunks([(start, paths[start : start + CHUNK]) for start in range(0, len(paths), CHUNK)])
    bad: dict[str, str] = {}
    done = 0
    lock = threading.Lock()

    def on_chunk(count: int, failed: dict[str, str]) -> None:
        nonlocal done
        with lock:
            bad.update(failed)
            done += count
            progress(done, len(paths))

    def here() -> None:
        while (chunk := chunks.take()) is not None:
            on_chunk(len(chunk[1]), image_cache.decode_rows(str(array_path), files_root, chunk[0], chunk[1], spec))

    # Fresh processes that import only numpy and PIL (a fork of the threaded worker could copy a held lock). This
    # process decodes too, so the others' start-up (about 0.3 s) is not lost, and chunks go to whoever is free.
    header = {"array": str(array_path), "root": files_root, "spec": spec}
    others = min(workers, len(chunks.left)) - 1
    with ThreadPoolExecutor(max_workers=others + 1) as threads:
        futures = [threads.submit(_run_decoder, header, chunks, on_chunk) for _ in range(others)]
        futures.append(threads.submit(here))
        for future in futures:
            future.result()
    return bad


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        yield


def build(
    parquet: str,
    files_root: str,
    column: str,
    spec: dict[str, Any],
    workers: int | None = None,
    progress: Progress = lambda done, total: None,
    max_bytes: int | None = None,
) -> tuple[Path | None, bool]:
    """(the cache's array file, whether it was built now); (None, False) when it would exceed MAX_BYTES."""
    array_path, index_path = image_cache.paths_of(files_root, column, spec)
    stamp = image_cache.source_stamp(parquet)
    with _locked(array_path.with_suffix(".lock")):
        if image_cache.is_current(array_path, image_cache.read_index(index_path), spec, stamp):
            os.utime(array_path)  # used now: the last one evicted
            return array_path, False
        for stale in array_path.parent.glob(f".{array_path.stem}.*.tmp.*"):
            stale.unlink(missing_ok=True)  # under this key's lock: left by a builder that died
        paths = image_paths(parquet, column)
        shape = (len(paths), int(spec["height"]), int(spec["width"]), int(spec["channels"]))
        if max_bytes is not None and int(np.prod(shape)) > max_bytes:
            return None, False
        tmp = array_path.with_name(f".{array_path.stem}.{uuid.uuid4().hex}.tmp.npy")
        tmp_index = tmp.with_suffix(".json")
        try:
            open_memmap(tmp, mode="w+", dtype="uint8", shape=shape).flush()
            bad = decode_all(tmp, files_root, paths, spec, workers or cpu_count(), progress)
            doc = {"format": image_cache.FORMAT, "column": column, "shape": list(shape), "paths": paths}
            doc.update(bad=bad, source=stamp, bytes=tmp.stat().st_size)
            tmp_index.write_text(json.dumps(doc))
            for done in (tmp, tmp_index):  # the sandbox's unprivileged uid reads them, whatever the umask
                os.chmod(done, 0o644)
            os.replace(tmp, array_path)
            os.replace(tmp_index, index_path)
        finally:
            tmp.unlink(missing_ok=True)
            tmp_index.unlink(missing_ok=True)
    return array_path, True


def all_caches(data_root: Path) -> list[Path]:
    """Every cache array file under the data root."""
    found = data_root.glob(f"projects/*/datasets/*/{image_cache.FOLDER}/*.npy")
    return [p for p in found if not p.name.startswith(".")]  # not a build's temporary file


def evict(data_root: Path, max_bytes: int, keep: set[Path] | None = None) -> list[Path]:
    """Delete the least recently used caches (never those in KEEP) until all of them fit in MAX_BYTES."""
    keep = keep or set()
    found = []
    for path in all_caches(data_root):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue  # evicted by another worker meanwhile
        found.append((st.st_mtime, path, st.st_size))
    total = sum(size for _, _, size in found)
    removed: list[Path] = []
    for _, path, size in sorted(found):
        if total <= max_bytes:
            break
        if path in keep:
            continue
        # A session reading it keeps its mapping (and its sandbox's bind): unlinking only frees the name.
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed


def image_specs(design: dict[str, Any]) -> dict[str, dict[str, int]]:
    """{column: {height, width, channels}} of the design's image inputs, as preprocessing.fit sizes them."""
    settings = design["settings"]
    return {
        col: preprocessing.feature_sizes(spec, settings["image"], preprocessing.IMAGE_KEYS)
        for col, spec in settings["features"].items()
        if spec.get("role") == "input" and spec.get("type") == "image"
    }


class ProgressLines:
    """Progress as session-log lines, "[fitstudio] decoding images: 12,000 / 20,000", about every tenth."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        """Say DONE of TOTAL when it passed the next tenth (and at the end)."""
        tenth = done * 10 // max(total, 1)
        if tenth > self.shown or done == total:
            self.shown = tenth
            self.say(f"decoding images: {done:,} / {total:,}")


def for_job(job: dict[str, Any], data_root: Path, max_mb: int, say: Callable[[str], None]) -> list[Path]:
    """Build (or reuse) the caches JOB's image inputs read, bind them read-only into its sandbox; their arrays.

    MAX_MB bounds all caches together (0: no cache; the child decodes in memory)."""
    dataset = job["dataset"]
    if max_mb <= 0 or dataset.get("kind") != "images" or not dataset.get("files_root"):
        return []
    used: list[Path] = []
    for column, spec in image_specs(job["design"]).items():
        try:
            array, built = build(
                dataset["parquet"], dataset["files_root"], column, spec, None, ProgressLines(say), max_mb << 20
            )
        except (OSError, ValueError, KeyError) as exc:  # no cache is slower, not wrong: the child decodes
            say(f"image cache of {column!r} not built ({type(exc).__name__}: {exc}); decoding in the training")
            continue
        if array is None:
            say(f"image cache of {column!r} would exceed FITSTUDIO_IMAGE_CACHE_MB={max_mb}; decoding in the training")
            continue
        say(f"image cache of {column!r} {'built' if built else 'reused'}: {array.stat().st_size / 2**20:,.1f} MB")
        used.append(array)
    try:
        evict(data_root, max_mb << 20, keep=set(used))
    except OSError as exc:  # the bound is kept at the next session's start; this one need not fail for it
        say(f"image caches not evicted ({type(exc).__name__}: {exc})")
    binds = [str(p) for a in used for p in (a, a.with_suffix(".json"))]
    job["sandbox_read_only"] = [*(job.get("sandbox_read_only") or []), *binds]
    return used
