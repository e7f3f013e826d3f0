"""A large dataset's model inputs, preprocessed a batch at a time into memory-mapped files (data.md, "Datasets
larger than memory").

One pass over the stored Parquet, a batch of rows at a time, writes each model input of every usable row into its
own `.npy` file in the child's scratch folder; images already in the dataset's preprocessed cache are not copied,
only their cache rows noted. The inputs are then `RowView`s over those files, which the training reads a batch at
a time: the child holds one batch of the file, never the dataset. A dataset held in memory takes its cached images
the same way (`in_memory`): mapped from the cache, not copied out of it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from core import data, image_cache, input_report, preprocessing
from core.contracts import Design
from core.row_views import RowView
from worker.runtime import limits
from worker.runtime.errors import TrainingError, say

PROGRESS_EVERY_ROWS = 1_000_000  # a progress line in the session log this often
# The scratch disk keeps this much free once the inputs are written: it is often the disk of the data root and of
# an embedded database, which a training must not fill.
SCRATCH_RESERVE_BYTES = 512 << 20
IMAGE_ITEM_BYTES, OTHER_ITEM_BYTES = 1, 4  # uint8 pixels; every other model input is 4-byte floats or ids


def store_bytes(prep: dict[str, Any], n_rows: int, cached: set[str]) -> int:
    """What the inputs' files take for N_ROWS rows (image columns in CACHED are mapped from the cache, not copied)."""
    per_row, columns = 0, preprocessing.input_columns(prep)
    for name, shape in prep["input_shapes"].items():
        column = columns.get(name, name)
        if column in cached:
            continue
        per_row += int(np.prod(shape)) * (IMAGE_ITEM_BYTES if column in prep["image"] else OTHER_ITEM_BYTES)
    return n_rows * per_row


def _check_room(folder: Path, need: int) -> None:
    """A TrainingError, before anything is written, if the inputs would not leave the reserve free on FOLDER's disk."""
    free = shutil.disk_usage(folder).free
    if free - need < SCRATCH_RESERVE_BYTES:
        raise TrainingError(
            f"the preprocessed inputs need {need / 2**20:,.0f} MB on the worker's scratch disk, which has "
            f"{free / 2**20:,.0f} MB free (and keeps {SCRATCH_RESERVE_BYTES >> 20} MB free): free some space, or "
            "train on fewer rows or smaller images"
        )


def estimate_bytes(parquet: str, design: Design) -> int:
    """About what the in-memory path would hold: the used columns as stored, uncompressed (the Parquet file's own
    figures), plus the decoded pixels of each image column that no preprocessed cache holds."""
    meta = data.open_parquet(parquet).metadata
    used = {*data.input_columns(design), design.target}
    total = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            if column.path_in_schema in used:
                total += column.total_uncompressed_size
    settings = design.settings
    for spec in settings["features"].values():
        if spec["role"] == "input" and spec["type"] == "image":
            sizes = preprocessing.feature_sizes(spec, settings["image"], preprocessing.IMAGE_KEYS)
            total += meta.num_rows * sizes["height"] * sizes["width"] * sizes["channels"]
    return total


class _NpyWriter:
    """One model input's `.npy` file, written a batch of rows at a time (plain writes: a full disk is an error
    with a message, where writing through a memory map would kill the child with SIGBUS)."""

    def __init__(self, path: Path, n_rows: int, first: np.ndarray):
        self.path, self.n_rows, self.dtype, self.written = path, n_rows, first.dtype, 0
        self.file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in finish()
        header = {
            "descr": np.lib.format.dtype_to_descr(first.dtype),
            "fortran_order": False,
            "shape": (n_rows, *first.shape[1:]),
        }
        np.lib.format.write_array_header_1_0(self.file, header)

    def write(self, rows: np.ndarray) -> None:
        """Append ROWS."""
        self.file.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.written += len(rows)

    def finish(self) -> np.ndarray:
        """Close the file and map it read-only."""
        self.file.close()
        assert self.written == self.n_rows, (self.path, self.written, self.n_rows)
        return np.load(self.path, mmap_mode="r")


def _open_caches(prep: dict[str, Any], files_root: str | None) -> dict[str, image_cache.Cache]:
    """The image columns the dataset's preprocessed cache holds at the fitted size."""
    caches = {}
    for col, spec in prep["image"].items():
        cached = image_cache.open_cache(files_root, col, spec)
        if cached is not None:
            caches[col] = cached
    return caches


def _without(prep: dict[str, Any], caches: dict[str, image_cache.Cache]) -> dict[str, Any]:
    """PREP without the image columns in CACHES (what is left to preprocess row by row)."""
    return {**prep, "image": {c: s for c, s in prep["image"].items() if c not in caches}}


def _cache_view(col: str, cached: image_cache.Cache, rows: np.ndarray) -> RowView:
    say(f"images of {col!r}: {len(rows):,} read from the preprocessed cache, a batch at a time")
    return RowView(cached.array, rows)


def in_memory(
    frames: tuple[pd.DataFrame, ...], prep: dict[str, Any], files_root: str | None
) -> tuple[dict[str, Any], ...]:
    """The model inputs of each of FRAMES (the splits of a dataset held in memory): arrays, except the image columns
    in the dataset's preprocessed cache, which are RowViews over it, mapped and read a batch at a time. Copied out of
    the cache, 16,000 images of 128x128x3 took 0.8-3.4 s before the first batch and 786 MB held for the training."""
    caches = _open_caches(prep, files_root)  # once for every split: opening one reads its whole index of paths
    rest = _without(prep, caches)
    splits = []
    for frame in frames:
        out = preprocessing.transform(frame, rest, files_root)
        for col, cached in caches.items():
            out[preprocessing.input_name(col)] = _cache_view(col, cached, preprocessing.cache_rows(cached, frame[col]))
        splits.append({name: out[name] for name in prep["input_shapes"]})
    return tuple(splits)


def build(
    parquet: str, design: Design, positions: np.ndarray, prep: dict[str, Any], files_root: str | None
) -> tuple[dict[str, RowView], dict[str, dict[str, Any]]]:
    """(each model input of the rows at POSITIONS as a RowView in POSITIONS' order, the preprocessing report
    counted over those rows), in one pass over the file a batch at a time."""
    caches = _open_caches(prep, files_root)
    stored = _without(prep, caches)
    folder = Path(tempfile.mkdtemp(prefix="inputs-"))
    _check_room(folder, store_bytes(prep, len(positions), set(caches)))
    writers: dict[str, _NpyWriter] = {}
    cache_rows: dict[str, list[np.ndarray]] = {col: [] for col in caches}
    report: dict[str, dict[str, Any]] = {}
    n, done, next_note = len(positions), 0, PROGRESS_EVERY_ROWS
    try:
        for chunk in data.chunks_at(parquet, data.input_columns(design), positions):
            input_report.add_reports(report, input_report.report(chunk, prep))
            for name, rows in preprocessing.transform(chunk, stored, files_root).items():
                if name not in writers:
                    writers[name] = _NpyWriter(folder / f"{len(writers)}.npy", n, rows)
                writers[name].write(rows)
            for col, cached in caches.items():
                cache_rows[col].append(preprocessing.cache_rows(cached, chunk[col].rename(col)))
            done += len(chunk)
            if done >= next_note or done == n:
                say(f"preprocessed {done:,} of {n:,} rows")
                next_note += PROGRESS_EVERY_ROWS
                # What the batches freed stays with the allocators: given back every million rows, a 5 M-row
                # training owned 138 MiB over its start once prepared, against 318 (bench/streamed_memory.py).
                limits.give_back_free_memory()
        inputs = {name: RowView(w.finish()) for name, w in writers.items()}  # row i of the file is row i
    except OSError as exc:
        message = f"the preprocessed inputs could not be written to the training's scratch disk: {exc}"
        raise TrainingError(message) from exc
    for col, cached in caches.items():
        inputs[preprocessing.input_name(col)] = _cache_view(col, cached, np.concatenate(cache_rows[col]))
    return {name: inputs[name] for name in prep["input_shapes"]}, report


def target_frame(target: pd.Series, rows: np.ndarray) -> pd.DataFrame:
    """The split's rows ROWS as the rest of the training wants them: a frame holding only the target column, taken
    once (no row labels: `iloc` then `reset_index` held an 8-byte label a row and copied the values twice)."""
    return pd.DataFrame({target.name: target.array.take(rows)}, copy=False)
