"""Standard mode's feed of in-memory arrays: Keras's own pipeline for them, without tf.data's autotuning, which
stalled epochs after the metrics' pause (docs/benchmarks.md, "Slow image epochs: tf.data's autotuning")."""

from __future__ import annotations

import keras
import numpy as np

from tests import helpers
from worker.runtime.fit import fast_training_data, keras_array_feed

N, BATCH = 10, 4
X = {"a": np.arange(N * 3, dtype="float32").reshape(N, 3), "b": np.arange(N, dtype="float32")[:, None] * 10}
Y = np.arange(N, dtype="float32")[:, None]


def batches(ds: object) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    return [({k: np.asarray(v) for k, v in x.items()}, np.asarray(y)) for x, y in ds]  # type: ignore[attr-defined]


def test_the_arrays_in_batches_in_order_without_shuffle_and_without_autotuning() -> None:
    ds = keras_array_feed(X, Y, BATCH, False)
    assert ds is not None and ds.options().autotune.enabled is False
    got = batches(ds)
    assert [len(y) for _, y in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([y for _, y in got]), Y)
    np.testing.assert_array_equal(np.concatenate([x["a"] for x, _ in got]), X["a"])
    np.testing.assert_array_equal(np.concatenate([x["b"] for x, _ in got]), X["b"])


def test_shuffled_each_epoch_rows_kept_together() -> None:
    ds = keras_array_feed(X, Y, BATCH, True)
    orders = []
    for _ in range(3):
        got = batches(ds)
        rows = [int(v) for v in np.concatenate([y for _, y in got]).ravel()]
        assert sorted(rows) == list(range(N))
        for x, y in got:  # each row's inputs travel with its target
            np.testing.assert_array_equal(x["b"], y * 10)
        orders.append(rows)
    assert len({tuple(o) for o in orders}) > 1  # a new order each epoch (3 epochs of 10 rows: not all the same)


def test_standard_mode_fits_on_it_and_the_same_seed_trains_the_same_model() -> None:
    training = {"batch_size": BATCH, "shuffle": True, "steps_per_epoch": None}

    def trained() -> list[np.ndarray]:
        keras.utils.set_random_seed(7)
        inputs = {k: keras.Input((v.shape[1],), name=k) for k, v in X.items()}
        out = keras.layers.Dense(1)(keras.layers.Concatenate()(list(inputs.values())))
        model = keras.Model(inputs, out)
        model.compile("sgd", "mse")
        fit = fast_training_data(X, Y, training, 7)
        assert fit.keys() == {"x", "shuffle"} and fit["shuffle"] is False  # a dataset carries its targets, shuffled
        model.fit(**fit, epochs=3, verbose=0)
        return model.get_weights()

    for first, second in zip(trained(), trained(), strict=True):
        np.testing.assert_array_equal(first, second)


def test_a_partial_epoch_keeps_keras_s_own_handling_of_arrays() -> None:
    fit = fast_training_data(X, Y, {"batch_size": BATCH, "shuffle": True, "steps_per_epoch": 2}, 0)
    assert fit["x"] is X and fit["y"] is Y and fit["batch_size"] == BATCH


def test_keras_knows_the_epoch_s_batches_from_the_first_epoch() -> None:
    # The first version of this feed left the count unknown: params["steps"] was None and a session's progress
    # lost its "of n" (tests/e2e/test_training.py caught it).
    ds = keras_array_feed(X, Y, BATCH, True)
    assert ds is not None and int(ds.cardinality()) == 3
    inputs = {k: keras.Input((v.shape[1],), name=k) for k, v in X.items()}
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()(list(inputs.values()))))
    model.compile("sgd", "mse")
    assert helpers.steps_per_epoch(model, ds, 2) == [(3, 3), (3, 3)]
