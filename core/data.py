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
    """(which rows have a usable target, SERIES as trained on: numbers for a regression)."""
    if prediction_type == "regression":
        series = pd.to_numeric(series, errors="coerce")
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
    """(file positions of the rows with a usable target, those targets), reading the target column only. A text
    target is held as a pandas Categorical: one small integer per row, not one string."""
    target = design.target
    series = pq.read_table(parquet, columns=[target]).column(0).to_pandas()
    keep, series = usable_target(series.rename(target), design.prediction_type)
    positions = np.flatnonzero(keep)
    _check_rows(len(positions), target)
    values = series[keep].reset_index(drop=True)
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        values = values.astype("category")
    return positions.astype(index_dtype(len(keep))), values


def index_dtype(n: int) -> np.dtype:
    """The smallest integer type that numbers N rows (half the memory of int64 up to two billion rows)."""
    return np.dtype("int32") if n < 2**31 else np.dtype("int64")


def chunks_at(parquet: str, columns: list[str], positions: np.ndarray) -> Iterator[pd.DataFrame]:
    """COLUMNS of the rows at POSITIONS (ascending file positions), a batch of the file at a time, in file order."""
    offset, done = 0, 0
    for batch in open_parquet(parquet).iter_batches(batch_size=CHUNK_ROWS, columns=columns):
        end = offset + batch.num_rows
        upto = int(np.searchsorted(positions, end, side="left"))
        if upto > done:
            yield batch.take(pa.array(positions[done:upto] - offset)).to_pandas()
        done, offset = upto, end
        if done == len(positions):
            return


def read_positions(parquet: str, columns: list[str], positions: np.ndarray) -> pd.DataFrame:
    """COLUMNS of the rows at POSITIONS (file positions in any order), in POSITIONS' order, read a batch at a time."""
    order = np.argsort(positions, kind="stable")
    parts = list(chunks_at(parquet, columns, positions[order]))
    frame = pd.concat(parts, ignore_index=True) if parts else pq.read_schema(parquet).empty_table().to_pandas()
    return frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def split_rows(n: int, train_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of a seeded random split of N rows; both parts keep at least one row."""
    order = np.random.default_rng(seed).permutation(n).astype(index_dtype(n))  # 4 bytes a row below 2**31 rows
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
