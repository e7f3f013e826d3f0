"""Load the dataset and split it into train and validation parts (seeded, reproducible).

Small datasets are read whole (`load_training_rows`); larger ones by position, a batch of the file at a time
(`target_rows`, `read_positions`, `chunks_at`), so that only the target column is ever held whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.contracts import Design

CHUNK_ROWS = 65_536  # rows read from the file at once by the streamed readers
FIT_SAMPLE_ROWS = 1_000_000  # the preprocessing of a larger train split is fitted on a seeded sample this large


class DataError(ValueError):
    """The data cannot be trained on as designed (with a sentence saying why)."""


def open_parquet(path: Any) -> pq.ParquetFile:
    """A stored Parquet file to read in batches, row group by row group. pyarrow's default pre-buffering keeps every
    row group it has read in memory until the file is closed: 250 MiB more for a 3 M-row scoring than for a
    300 k-row one, where reading without it stays at one row group (bench/jobs_up.py, docs/benchmarks.md)."""
    return pq.ParquetFile(path, pre_buffer=False)


def input_columns(design: Design) -> list[str]:
    """The columns DESIGN uses as inputs, in the design's order."""
    return [c for c, spec in design.settings["features"].items() if spec["role"] == "input"]


def usable_target(series: pd.Series, prediction_type: str) -> tuple[np.ndarray, pd.Series]:
    """(which rows have a usable target, SERIES as trained on: numbers for a regression, an infinite one not usable:
    its loss would be infinite, and every weight NaN after one step)."""
    if prediction_type == "regression":
        series = pd.to_numeric(series, errors="coerce")  # integers stay integers (a 20 M-row target's memory)
        if pd.api.types.is_float_dtype(series.dtype):
            series = series.where(np.isfinite(series.to_numpy(dtype="float64", na_value=np.nan)))
    return series.notna().to_numpy(), series


def _check_rows(n: int, target: str) -> None:
    if n < 2:
        raise DataError(f"Only {n} rows have a usable target {target!r}; at least 2 are needed.")


def load_training_rows(parquet: str, design: Design) -> pd.DataFrame:
    """The columns of PARQUET that DESIGN uses (inputs and target), rows without a target dropped."""
    target = design.target
    frame = pq.read_table(parquet, columns=[*input_columns(design), target]).to_pandas()
    keep, frame[target] = usable_target(frame[target], design.prediction_type)
    frame = frame[keep]
    _check_rows(len(frame), target)
    return frame.reset_index(drop=True)


def target_rows(parquet: str, design: Design) -> tuple[np.ndarray, pd.Series]:
    """(file positions of the rows with a usable target, those targets), reading the target column only. A class
    label (text, or numbers wider than a byte) is held as a pandas Categorical: one small integer per row (one byte
    below 128 classes), not one string or one 8-byte number; a regression's target stays numbers."""
    target = design.target
    series = pq.read_table(parquet, columns=[target]).column(0).to_pandas()
    series.name = target  # in place: rename() would copy the column
    keep, series = usable_target(series, design.prediction_type)
    if keep.all():  # the usual case: every row, numbered in the small type, the values as read
        positions, values = np.arange(len(keep), dtype=index_dtype(len(keep))), series
    else:
        positions = np.flatnonzero(keep).astype(index_dtype(len(keep)))
        values = series[keep].reset_index(drop=True)
    _check_rows(len(positions), target)
    text = pd.api.types.is_string_dtype(values.dtype) or values.dtype == object
    if text or (design.prediction_type != "regression" and values.dtype.itemsize > 1):  # int8, bool: already small
        values = values.astype("category")
    return positions, values


def index_dtype(n: int) -> np.dtype:
    """The smallest integer type that numbers N rows (half the memory of int64 up to two billion rows)."""
    return np.dtype("int32") if n < 2**31 else np.dtype("int64")


def _batches_at(parquet: str, columns: list[str], positions: np.ndarray) -> Iterator[pa.RecordBatch]:
    """COLUMNS of the rows at POSITIONS (ascending file positions) as Arrow batches, a batch of the file at a time."""
    offset, done = 0, 0
    for batch in open_parquet(parquet).iter_batches(batch_size=CHUNK_ROWS, columns=columns):
        end = offset + batch.num_rows
        upto = int(np.searchsorted(positions, end, side="left"))
        if upto > done:
            yield batch.take(pa.array(positions[done:upto] - offset))
        done, offset = upto, end
        if done == len(positions):
            return


def chunks_at(parquet: str, columns: list[str], positions: np.ndarray) -> Iterator[pd.DataFrame]:
    """COLUMNS of the rows at POSITIONS (ascending file positions), a batch of the file at a time, in file order."""
    for batch in _batches_at(parquet, columns, positions):
        yield batch.to_pandas()


def read_positions(parquet: str, columns: list[str], positions: np.ndarray) -> pd.DataFrame:
    """COLUMNS of the rows at POSITIONS (file positions in any order), in POSITIONS' order, read a batch at a time.

    The rows are gathered and put in order in Arrow, then converted a column at a time, each Arrow column freed
    as it is converted: the 1 M-row fit sample of a 30-column table peaked at 484 MiB through pandas' concat and
    reorder (bench/streamed_memory.py)."""
    order = np.argsort(positions, kind="stable")
    batches = list(_batches_at(parquet, columns, positions[order]))
    if not batches:
        return pq.read_schema(parquet).empty_table().select(columns).to_pandas()
    table = pa.Table.from_batches(batches).take(pa.array(np.argsort(order, kind="stable")))
    del batches
    return table.to_pandas(self_destruct=True, split_blocks=True)


def split_rows(n: int, train_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of a seeded random split of N rows; both parts keep at least one row."""
    # Shuffled in its own integer type (4 bytes a row below 2**31 rows): the same order as permutation(n), without
    # its int64 array (160 MB at 20 M rows) and a copy.
    order = np.random.default_rng(seed).permutation(np.arange(n, dtype=index_dtype(n)))
    n_train = min(max(1, round(n * train_ratio)), n - 1)
    return order[:n_train], order[n_train:]


def fit_sample(n_train: int, seed: int) -> np.ndarray | None:
    """Which of a train split's N_TRAIN rows the preprocessing is fitted on: None for all of them, else a seeded
    sample of FIT_SAMPLE_ROWS (positions in the split, ascending). The training and the API's input shapes agree."""
    if n_train <= FIT_SAMPLE_ROWS:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_train, FIT_SAMPLE_ROWS, replace=False))


def fit_rows(parquet: str, columns: list[str], design: Design) -> pd.DataFrame:
    """COLUMNS of the rows the preprocessing is fitted on (the train split, or its sample), in the split's order,
    read by position: what the API reads to tell a design's input shapes."""
    positions, _ = target_rows(parquet, design)
    train_rows, _ = split_rows(len(positions), design.settings["split"]["train_ratio"], design.seed)
    sample = fit_sample(len(train_rows), design.seed)
    return read_positions(parquet, columns, positions[train_rows if sample is None else train_rows[sample]])


def split(frame: pd.DataFrame, train_ratio: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded random split; both parts keep at least one row."""
    train_rows, val_rows = split_rows(len(frame), train_ratio, seed)
    return frame.iloc[train_rows].reset_index(drop=True), frame.iloc[val_rows].reset_index(drop=True)
