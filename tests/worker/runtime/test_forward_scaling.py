"""The metrics' forward pass scales uint8 images inside its graph: the same outputs, bit for bit, as scaling each
batch in NumPy first (as_model_input); a user's own validation sequence is passed through unscaled."""

from __future__ import annotations

import keras
import numpy as np

from core.sequences import as_model_input
from worker.runtime.callbacks import EvalSet, forward
from worker.runtime.eval_sequence import SequenceEvalSet


def _cnn() -> keras.Model:
    keras.utils.set_random_seed(5)
    inputs = keras.Input((16, 16, 3))
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(hidden))
    return keras.Model(inputs, outputs)


def _images(n: int) -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, size=(n, 16, 16, 3), dtype=np.uint8)


def test_uint8_images_give_the_outputs_of_numpy_scaled_inputs_bit_for_bit() -> None:
    model, images = _cnn(), _images(70)
    got = EvalSet({"image": images}, np.zeros(70)).predict(model)
    # The same compiled forward pass fed the float32 batches as_model_input makes (1,024-row batches: one here).
    expected = np.asarray(forward(model)(as_model_input(images)))
    assert got.shape == (70, 3)
    np.testing.assert_array_equal(got, expected)
    # And the scaling itself is as_model_input's: not a multiplication by 1/255, which differs in the last bit.
    unscaled = np.asarray(forward(model)(images.astype(np.float32)))
    assert not np.array_equal(got, unscaled)


def test_mixed_inputs_scale_only_the_images() -> None:
    keras.utils.set_random_seed(6)
    image = keras.Input((16, 16, 3), name="image")
    numbers = keras.Input((2,), name="numbers")
    pooled = keras.layers.GlobalAveragePooling2D()(image)
    model = keras.Model([image, numbers], keras.layers.Dense(1)(keras.layers.Concatenate()([pooled, numbers])))
    inputs = {"image": _images(9), "numbers": np.arange(18, dtype=np.float32).reshape(9, 2)}
    got = EvalSet(inputs, np.zeros(9)).predict(model)
    scaled = {"image": as_model_input(inputs["image"]), "numbers": inputs["numbers"]}
    np.testing.assert_array_equal(got, np.asarray(forward(model)(scaled)))


def test_a_users_validation_sequence_reaches_the_model_unscaled() -> None:
    # Advanced mode: the user's sequence gives the model what the user's code made of the data, uint8 included.
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: keras.ops.max(t, axis=1, keepdims=True))(inputs))
    batch = np.full((3, 4), 255, dtype=np.uint8)
    _, outputs = SequenceEvalSet([(batch, np.zeros(3))], "regression").outputs(model)
    assert outputs.ravel().tolist() == [255.0, 255.0, 255.0]
    assert EvalSet({"x": batch}, np.zeros(3)).predict(model).ravel().tolist() == [1.0, 1.0, 1.0]
