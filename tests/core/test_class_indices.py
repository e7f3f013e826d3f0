"""A target's class indices, looked up once per distinct value (a streamed training's target has millions of rows),
are those of the one-lookup-per-row rule: str(value) in the class list, -1 for a missing or unseen value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from core import preprocessing

SERIES = [
    pd.Series([1, 0, 1, None, 2.0]),
    pd.Series(["a", "b", None, "c", "a"]),
    pd.Series(["a", "b", None, "c"]).astype("category"),
    pd.Series([True, False, None], dtype=object),
    pd.Series([1.0, 0.0, np.nan]),
    pd.Series(["x", 1, 1.0, None], dtype=object),  # 1 and 1.0: one value to pandas, two labels
    pd.Series(pd.array([1, None, 0], dtype="Int64")),
    pd.Series(np.array([0, 1, 1, 0], dtype="int8")),
    # A streamed training's class labels, numbers included, are held as categories (core.data.target_rows).
    pd.Series(np.array([2, 0, 1, 0], dtype="int64")).astype("category"),
    pd.Series([1.0, 0.0, np.nan, 1.0]).astype("category"),
    pd.Series([True, False, None, True]).astype("category"),
]


def _per_row(series: pd.Series, classes: list[Any]) -> np.ndarray:
    lookup = {str(c): i for i, c in enumerate(classes)}
    return np.array([lookup.get(str(v), -1) for v in series.tolist()], dtype="int64")


@pytest.mark.parametrize("series", SERIES)
@pytest.mark.parametrize("classes", [[0, 1], ["a", "b"], [0.0, 1.0], [True, False], ["1", "x"]])
def test_class_indices_match_a_lookup_per_row(series: pd.Series, classes: list[Any]) -> None:
    np.testing.assert_array_equal(preprocessing.class_indices(series, {"classes": classes}), _per_row(series, classes))
