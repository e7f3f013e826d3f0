"""fitstudio/deep_learning/sequences.py DataAugmentationSequence: sizes, n augmented copies (DSS), augmentators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core.sequences import ArraySequence
from fitstudio.deep_learning.sequences import DataAugmentationSequence

N, H, W = 10, 4, 5


def _images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(N, H, W, 3), dtype=np.uint8)


def _base(batch_size: int = 4, shuffle: bool = False) -> ArraySequence:
    inputs = {"image_preprocessed": _images(), "main": np.arange(N, dtype="float32")[:, None]}
    targets = np.eye(2, dtype="float32")[np.arange(N) % 2]
    return ArraySequence(inputs, targets, batch_size, shuffle=shuffle, seed=4)


class PlusOne:
    """A deterministic augmentator with the ImageDataGenerator interface."""

    def __init__(self) -> None:
        self.calls = 0

    def random_transform(self, x: np.ndarray, seed: Any = None) -> np.ndarray:
        self.calls += 1
        return x + 1.0


def _flip_or_same(augmented: np.ndarray, original: np.ndarray) -> list[str]:
    """For each sample: 'same', 'flip' (horizontal) or 'other'."""
    out = []
    for a, o in zip(augmented, original, strict=True):
        if np.allclose(a, o, atol=1e-6):
            out.append("same")
        elif np.allclose(a, o[:, ::-1], atol=1e-6):
            out.append("flip")
        else:
            out.append("other")
    return out


def test_batch_size_is_multiplied_and_every_copy_is_augmented() -> None:
    base = _base(4)
    augmentator = PlusOne()
    aug = DataAugmentationSequence(base, "image_preprocessed", augmentator, n_augmentation=3)
    assert len(aug) == len(base) == 3
    assert aug.num_batches == 3
    x, y = aug[0]
    bx, by = base[0]
    assert x["image_preprocessed"].shape == (12, H, W, 3)
    assert x["main"].shape == (12, 1)
    assert y.shape == (12, 2)
    # DSS's semantics: 3 augmented copies (+1 here), no un-augmented original
    for copy in range(3):
        np.testing.assert_allclose(x["image_preprocessed"][copy * 4 : copy * 4 + 4], bx["image_preprocessed"] + 1.0)
    assert augmentator.calls == 12  # one random_transform per sample and copy
    # other inputs and the targets are repeated unchanged
    np.testing.assert_array_equal(x["main"], np.concatenate([bx["main"]] * 3))
    np.testing.assert_array_equal(y, np.concatenate([by] * 3))


def test_last_partial_batch() -> None:
    aug = DataAugmentationSequence(_base(4), "image_preprocessed", PlusOne(), n_augmentation=2)
    x, y = aug[2]  # 10 rows by 4: the last batch holds 2 rows
    assert x["image_preprocessed"].shape[0] == 4
    assert y.shape[0] == 4


def test_one_augmentation_augments_every_batch_once() -> None:
    augmentator = PlusOne()
    base = _base(4)
    aug = DataAugmentationSequence(base, "image_preprocessed", augmentator)
    x, y = aug[1]
    bx, by = base[1]
    np.testing.assert_allclose(x["image_preprocessed"], bx["image_preprocessed"] + 1.0)
    np.testing.assert_array_equal(y, by)
    assert augmentator.calls == 4


def test_the_input_keeps_its_dtype_and_range() -> None:
    aug = DataAugmentationSequence(_base(4), "image_preprocessed", PlusOne(), n_augmentation=2)
    x, _ = aug[0]
    assert x["image_preprocessed"].dtype == np.float32  # images reach the model as float32


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        DataAugmentationSequence(_base(), "image_preprocessed", PlusOne(), n_augmentation=0)
    with pytest.raises(KeyError, match="image_preprocessed"):
        DataAugmentationSequence(_base(), "nope", PlusOne(), n_augmentation=2)[0]
    with pytest.raises(TypeError, match="random_transform"):
        DataAugmentationSequence(_base(), "image_preprocessed", object(), n_augmentation=2)[0]


def test_on_epoch_end_reshuffles_the_wrapped_sequence() -> None:
    base = _base(4, shuffle=True)
    aug = DataAugmentationSequence(base, "image_preprocessed", PlusOne(), n_augmentation=2)
    epochs = []
    for _ in range(3):
        epochs.append([tuple(aug[i][0]["main"][:, 0].tolist()) for i in range(len(aug))])
        aug.on_epoch_end()
    assert epochs[0] != epochs[1]
    assert epochs[1] != epochs[2]


def _image_data_generator_class() -> Any:
    """The legacy ImageDataGenerator: keras 3 exports it from tensorflow.keras (and cells re-add the keras path)."""
    try:
        from keras.preprocessing.image import ImageDataGenerator
    except ImportError:
        from tensorflow.keras.preprocessing.image import ImageDataGenerator
    return ImageDataGenerator


def test_tensorflow_keras_image_data_generator_imports() -> None:
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    assert hasattr(ImageDataGenerator, "random_transform")


def test_with_image_data_generator() -> None:
    generator = _image_data_generator_class()(horizontal_flip=True)
    np.random.seed(0)  # ImageDataGenerator draws from numpy's global generator
    base = _base(5)
    aug = DataAugmentationSequence(base, "image_preprocessed", generator, n_augmentation=3)
    kinds: list[str] = []
    for i in range(len(aug)):
        x, y = aug[i]
        original = base[i][0]["image_preprocessed"]
        assert x["image_preprocessed"].shape == (15, H, W, 3)
        assert x["image_preprocessed"].dtype == np.float32
        assert y.shape == (15, 2)
        for copy in range(3):
            kinds += _flip_or_same(x["image_preprocessed"][copy * 5 : copy * 5 + 5], original)
    assert "other" not in kinds
    assert "flip" in kinds and "same" in kinds  # 30 coin flips


def test_with_a_random_flip_layer() -> None:
    keras = pytest.importorskip("keras")
    layer = keras.layers.RandomFlip("horizontal", seed=3)
    base = _base(5)
    aug = DataAugmentationSequence(base, "image_preprocessed", layer, n_augmentation=2)
    kinds: list[str] = []
    for i in range(len(aug)):
        x, _ = aug[i]
        original = base[i][0]["image_preprocessed"]
        assert x["image_preprocessed"].shape == (10, H, W, 3)
        assert x["image_preprocessed"].dtype == np.float32
        kinds += _flip_or_same(x["image_preprocessed"][:5], original)
        kinds += _flip_or_same(x["image_preprocessed"][5:], original)
    assert "other" not in kinds
    assert "flip" in kinds  # the layer runs in training mode, so it does flip


def test_with_a_sequential_of_random_layers() -> None:
    keras = pytest.importorskip("keras")
    augmentator = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=1), keras.layers.RandomFlip("vertical")])
    aug = DataAugmentationSequence(_base(4), "image_preprocessed", augmentator, n_augmentation=2)
    x, _ = aug[0]
    assert x["image_preprocessed"].shape == (8, H, W, 3)
    assert np.isfinite(x["image_preprocessed"]).all()


def test_keras_fits_on_an_augmented_sequence() -> None:
    keras = pytest.importorskip("keras")
    image = keras.Input(shape=(H, W, 3), name="image_preprocessed")
    main = keras.Input(shape=(1,), name="main")
    merged = keras.layers.Concatenate()([keras.layers.Flatten()(image), main])
    model = keras.Model(
        inputs={"image_preprocessed": image, "main": main}, outputs=keras.layers.Dense(2, activation="softmax")(merged)
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    aug = DataAugmentationSequence(_base(4), "image_preprocessed", keras.layers.RandomFlip("horizontal"), 2)
    history = model.fit(aug, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
