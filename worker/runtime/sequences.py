"""Keras Sequences (PyDataset) over preprocessed arrays: items are (inputs_dict, targets)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras.utils import PyDataset


def as_model_input(array: np.ndarray) -> np.ndarray:
    """Images are kept as uint8 to save memory; the model sees float32 in [0, 1]."""
    if array.dtype == np.uint8:
        return array.astype("float32") / 255.0
    return array


class ArraySequence(PyDataset):
    """Batches of named input arrays and targets, reshuffled every epoch when SHUFFLE."""

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        targets: np.ndarray | None,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be 1 or more, got {batch_size!r}")
        self.inputs = inputs
        self.targets = targets
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.n = len(next(iter(inputs.values()))) if inputs else 0
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(self.n) if shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return max(1, math.ceil(self.n / self.batch_size))

    @property
    def num_batches(self) -> int:
        """Number of batches per epoch."""
        return len(self)

    def _rows(self, index: int) -> np.ndarray:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range (0..{len(self) - 1})")
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.shuffle:
            rows = np.sort(rows)  # sorted fancy indexing is friendlier to memory-mapped arrays
        return rows

    def __getitem__(self, index: int) -> Any:
        rows = self._rows(index)
        x = {name: as_model_input(arr[rows]) for name, arr in self.inputs.items()}
        if self.targets is None:
            return (x,)
        return x, self.targets[rows]

    def on_epoch_end(self) -> None:
        """A new order for the next epoch."""
        if self.shuffle:
            self._order = self._rng.permutation(self.n)
