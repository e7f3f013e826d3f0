"""Load the dataset and split it into train and validation parts (seeded, reproducible)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from core.contracts import Design


class DataError(ValueError):
    """The data cannot be trained on as designed (with a sentence saying why)."""


def load_training_rows(parquet: str, design: Design) -> pd.DataFrame:
    """The columns of PARQUET that DESIGN uses (inputs and target), rows without a target dropped."""
    features = design.settings["features"]
    target = design.target
    used = [c for c, spec in features.items() if spec["role"] == "input"]
    frame = pq.read_table(parquet, columns=[*used, target]).to_pandas()
    frame = frame[frame[target].notna()]
    if design.prediction_type == "regression":
        frame[target] = pd.to_numeric(frame[target], errors="coerce")
        frame = frame[frame[target].notna()]
    if len(frame) < 2:
        raise DataError(f"Only {len(frame)} rows have a usable target {target!r}; at least 2 are needed.")
    return frame.reset_index(drop=True)


def split(frame: pd.DataFrame, train_ratio: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded random split; both parts keep at least one row."""
    order = np.random.default_rng(seed).permutation(len(frame))
    n_train = min(max(1, round(len(frame) * train_ratio)), len(frame) - 1)
    return frame.iloc[order[:n_train]].reset_index(drop=True), frame.iloc[order[n_train:]].reset_index(drop=True)
