"""DataAugmentationSequence: a Keras Sequence that yields augmented copies of one input for every batch (as DSS)."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras.utils import PyDataset


def _augment_batch(augmentator: Any, batch: np.ndarray) -> np.ndarray:
    if hasattr(augmentator, "random_transform"):
        # Keras's legacy ImageDataGenerator and anything shaped like it: one sample at a time.
        return np.stack([np.asarray(augmentator.random_transform(x), dtype=batch.dtype) for x in batch])
    if callable(augmentator):
        # A Keras preprocessing layer or Sequential of random layers: the whole batch, in training mode.
        try:
            out = augmentator(batch, training=True)
        except TypeError:
            out = augmentator(batch)
        return np.asarray(out, dtype=batch.dtype)
    raise TypeError(
        f"augmentator {augmentator!r} has no random_transform(x) and is not callable; pass an "
        "ImageDataGenerator or a Keras preprocessing layer"
    )


class DataAugmentationSequence(PyDataset):
    """Wraps SEQUENCE; each batch is N_AUGMENTATION augmented copies of INPUT_NAME, without the original (DSS's
    semantics: n_augmentation=1 augments every batch once; docs/keras3-migration.md for the count before)."""

    def __init__(self, sequence: Any, input_name: str, augmentator: Any, n_augmentation: int = 1, **kwargs: Any):
        super().__init__(**kwargs)
        if int(n_augmentation) < 1:
            raise ValueError(f"n_augmentation must be 1 or more, got {n_augmentation!r}")
        self.sequence = sequence
        self.input_name = input_name
        self.augmentator = augmentator
        self.n_augmentation = int(n_augmentation)

    def __len__(self) -> int:
        return len(self.sequence)

    @property
    def num_batches(self) -> int:  # keras asks PyDatasets for this
        """Number of batches per epoch."""
        return len(self.sequence)

    def __getitem__(self, index: int) -> Any:
        inputs, targets = self.sequence[index][:2]
        bare = not isinstance(inputs, dict)
        if bare:  # a sequence for a model with one input yields its array (code-cells.md): that input is augmented
            names = list(getattr(self.sequence, "inputs", None) or [self.input_name])
            if self.input_name not in names:
                raise KeyError(f"input {self.input_name!r} is not one of the sequence's inputs {sorted(names)}")
            inputs = {self.input_name: inputs}
        if self.input_name not in inputs:
            raise KeyError(f"input {self.input_name!r} is not one of the sequence's inputs {sorted(inputs)}")
        copies_x = []
        for _ in range(self.n_augmentation):
            augmented = dict(inputs)
            augmented[self.input_name] = _augment_batch(self.augmentator, np.asarray(inputs[self.input_name]))
            copies_x.append(augmented)
        out_x = {k: np.concatenate([np.asarray(c[k]) for c in copies_x], axis=0) for k in inputs}
        out_y = np.concatenate([np.asarray(targets)] * self.n_augmentation, axis=0)
        return (out_x[self.input_name] if bare else out_x), out_y

    def on_epoch_end(self) -> None:
        """Let the wrapped sequence reshuffle."""
        if hasattr(self.sequence, "on_epoch_end"):
            self.sequence.on_epoch_end()
