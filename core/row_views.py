"""Rows of a larger array, read only when asked for: a split's inputs over a memory-mapped store or image cache.

A `RowView` behaves like the array of its rows where the input pipeline touches it (length, shape, dtype, a
slice, a list of row numbers) without ever gathering them all: the training reads batches, the metrics read
slices, and the whole view is never in memory (data.md, "Datasets larger than memory").
"""

from __future__ import annotations

from typing import Any

import numpy as np


class RowView:
    """The rows ROWS (numbers into BASE's first axis, in the view's order) of BASE, a NumPy array or memory map;
    ROWS None is every row of BASE in order, with no row numbers held (a streamed input's whole file)."""

    def __init__(self, base: np.ndarray, rows: np.ndarray | None = None):
        self.base = base
        self.rows = None if rows is None else np.asarray(rows)
        self.dtype = base.dtype
        self.shape = (len(base) if self.rows is None else len(self.rows), *base.shape[1:])
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        """The rows KEY picks (an int, a slice or an array of positions in the view), read in file order."""
        if isinstance(key, tuple):  # view[rows, columns…]: the rows first, then the rest on the small result
            return self[key[0]][(slice(None), *key[1:])]
        if self.rows is None:
            if isinstance(key, (int, np.integer, slice)):
                return np.asarray(self.base[key])  # one row, or a contiguous run of the file
            picked = np.asarray(key)
            picked = np.flatnonzero(picked) if picked.dtype == bool else picked
        else:
            picked = self.rows[key]
        if np.ndim(picked) == 0:
            return np.asarray(self.base[int(picked)])
        return gather(self.base, np.asarray(picked))

    def pick(self, positions: np.ndarray) -> RowView:
        """The view of this view's rows at POSITIONS (a split of a dataset's rows), still unread. A whole-file view
        shares POSITIONS instead of copying them: the caller does not change them afterwards."""
        return RowView(self.base, np.asarray(positions) if self.rows is None else self.rows[positions])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """All the rows at once (what np.asarray does): only for small views, such as a dry run's."""
        out = np.array(self.base) if self.rows is None else gather(self.base, self.rows)
        return out.astype(dtype) if dtype is not None else out


def gather(base: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """BASE's ROWS in ROWS' order, read in file order: a sorted gather touches each page of a memory map once."""
    if len(rows) < 2 or bool(np.all(rows[1:] >= rows[:-1])):
        return np.asarray(base[rows])
    order = np.argsort(rows, kind="stable")
    out = np.empty((len(rows), *base.shape[1:]), dtype=base.dtype)
    out[order] = base[rows[order]]
    return out


def is_view(value: Any) -> bool:
    """Whether VALUE is a RowView (the inputs are streamed, not in memory)."""
    return isinstance(value, RowView)
