"""Keras Sequences (PyDataset) over preprocessed arrays: items are (inputs_dict, targets)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras.utils import PyDataset


def as_model_input(array: np.ndarray) -> np.ndarray:
    """Images are kept as uint8 to save memory; the model sees float32 in [0, 1]."""
    if array.dtype == np.uint8:
        # One pass, the same values as astype("float32") / 255: a 256 x 128x128x3 batch in 21 ms instead of 36
        return np.divide(array, np.float32(255), dtype=np.float32)
    return array


# Set on a model whose number of inputs Keras cannot tell (a subclassed model) once a probe found how it is fed.
FEEDS_ARRAY = "_fitstudio_feeds_array"


def input_count(model: Any) -> int | None:
    """How many inputs MODEL takes: 1 for any Sequential (built or not: it has exactly one input), the number of its
    input tensors for a functional model, None when Keras cannot tell (a subclassed model)."""
    import keras

    if isinstance(model, keras.Sequential):
        return 1
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model, or a model not built yet
        return None
    return len(inputs) if inputs else None


def takes_array(model: Any, names: Any) -> bool:
    """Whether MODEL is fed the bare array instead of the dict of named inputs NAMES (code-cells.md: "a model with
    exactly one input receives that input's array whatever the input is named"): the data has exactly one input
    and the model one too, whatever its name, or a number Keras cannot tell (then a probe may have decided)."""
    if len(names) != 1:
        return False
    decided = getattr(model, FEEDS_ARRAY, None)
    if decided is not None:
        return bool(decided)
    if input_count(model) not in (None, 1):
        return False
    # A model whose one input carries the data's name (DSS code: Input(name="main")) keeps the dict of
    # code-cells.md's sequences, so cells that read `batch[0]["main"]` work as in DSS.
    return not set(names) & set(_input_names(model))


def _input_names(model: Any) -> list[str]:
    """The names of MODEL's input tensors, or none when Keras cannot tell yet."""
    import keras

    try:
        if isinstance(model, keras.Sequential) and not model.built:
            return []
        return [str(getattr(t, "name", "")) for t in model.inputs or []]
    except (AttributeError, ValueError):
        return []


def inputs_for(model: Any, arrays: dict[str, Any]) -> Any:
    """What MODEL is given for the named input ARRAYS: the one array (see takes_array), or the dict itself."""
    return next(iter(arrays.values())) if takes_array(model, arrays) else arrays


class ArraySequence(PyDataset):
    """Batches of named input arrays and targets, reshuffled every epoch when SHUFFLE.

    Items are (inputs_dict, targets), or (array, targets) with SINGLE_INPUT (for a model that takes one input).
    """

    def __init__(
        self,
        inputs: dict[str, np.ndarray],
        targets: np.ndarray | None,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        single_input: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be 1 or more, got {batch_size!r}")
        self.inputs = inputs
        self.targets = targets
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.single_input = bool(single_input) and len(inputs) == 1
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
        x: Any = {name: as_model_input(arr[rows]) for name, arr in self.inputs.items()}
        if self.single_input:
            x = next(iter(x.values()))
        if self.targets is None:
            return (x,)
        return x, self.targets[rows]

    def on_epoch_end(self) -> None:
        """A new order for the next epoch."""
        if self.shuffle:
            self._order = self._rng.permutation(self.n)
