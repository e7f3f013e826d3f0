"""A model compiled with a sparse categorical crossentropy (keras.io's usual classifier) trains on class indices."""

from __future__ import annotations

import functools
from typing import Any

import keras
import numpy as np
import pandas as pd
import pytest

from core import preprocessing
from worker.runtime.model_check import takes_class_indices

TARGET = {"kind": "multiclass", "classes": ["setosa", "versicolor", "virginica"]}


def _compiled(loss: Any, width: int = 3) -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, metrics=["accuracy"])
    return model


@pytest.mark.parametrize(
    ("loss", "sparse"),
    [
        ("sparse_categorical_crossentropy", True),
        ("SparseCategoricalCrossentropy", True),
        (keras.losses.SparseCategoricalCrossentropy(), True),
        (keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="my_loss"), True),
        (keras.losses.sparse_categorical_crossentropy, True),
        (functools.partial(keras.losses.sparse_categorical_crossentropy, from_logits=True), True),
        ("categorical_crossentropy", False),
        (keras.losses.CategoricalCrossentropy(), False),
        (keras.losses.categorical_focal_crossentropy, False),
        ("mse", False),
    ],
)
def test_a_sparse_loss_is_recognised_in_every_form(loss: Any, sparse: bool) -> None:
    assert takes_class_indices(_compiled(loss)) is sparse


def test_a_loss_dict_or_list_is_searched() -> None:
    model = _compiled("categorical_crossentropy")
    model.loss = {"dense": "sparse_categorical_crossentropy"}
    assert takes_class_indices(model)
    model.loss = ["categorical_crossentropy"]
    assert not takes_class_indices(model)


def test_class_indices_are_encoded_whatever_the_width() -> None:
    series = pd.Series(["virginica", "setosa", "versicolor", "virginica"])
    y = preprocessing.encode_targets(series, TARGET, width=3, as_indices=True)
    assert y.shape == (4, 1) and y[:, 0].tolist() == [2, 0, 1, 2]
    np.testing.assert_array_equal(preprocessing.encode_targets(series, TARGET, width=3).argmax(axis=1), y[:, 0])


def test_keras_trains_a_sparse_loss_on_them_and_refuses_one_hot() -> None:
    rng = np.random.default_rng(0)
    labels = pd.Series(rng.choice(TARGET["classes"], 96))
    x = rng.normal(size=(96, 4)).astype("float32") + 3 * preprocessing.class_indices(labels, TARGET)[:, None]
    model = _compiled("sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="must have rank"):  # what every keras.io classifier met before
        model.fit(x, preprocessing.encode_targets(labels, TARGET, 3), epochs=1, verbose=0)
    model = _compiled("sparse_categorical_crossentropy")
    history = model.fit(x, preprocessing.encode_targets(labels, TARGET, 3, as_indices=True), epochs=30, verbose=0)
    assert history.history["accuracy"][-1] > 0.6  # "accuracy" read as sparse_categorical_accuracy: it learns
