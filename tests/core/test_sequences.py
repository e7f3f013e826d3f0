"""core/sequences.py ArraySequence: batches, lengths, shuffling, image scaling."""

from __future__ import annotations

import numpy as np
import pytest

from core.sequences import ArraySequence, as_model_input


def _epoch(seq: ArraySequence) -> list[np.ndarray]:
    return [seq[i][0]["main"][:, 0].astype(int) for i in range(len(seq))]


def _sequence(n: int = 10, batch_size: int = 4, **kw) -> ArraySequence:
    inputs = {"main": np.arange(n, dtype="float32")[:, None], "other": np.arange(n, dtype="int32") * 2}
    targets = (np.arange(n) * 10).astype("float32")[:, None]
    return ArraySequence(inputs, targets, batch_size, **kw)


def test_lengths_and_batch_sizes() -> None:
    seq = _sequence(10, 4)
    assert len(seq) == 3
    assert seq.num_batches == 3
    assert [len(seq[i][1]) for i in range(3)] == [4, 4, 2]
    assert len(_sequence(8, 4)) == 2
    assert len(_sequence(3, 50)) == 1


def test_items_are_inputs_dict_and_targets_in_order() -> None:
    seq = _sequence(10, 4)
    x, y = seq[1]
    assert set(x) == {"main", "other"}
    np.testing.assert_array_equal(x["main"][:, 0], [4, 5, 6, 7])
    np.testing.assert_array_equal(x["other"], [8, 10, 12, 14])
    np.testing.assert_array_equal(y[:, 0], [40, 50, 60, 70])
    np.testing.assert_array_equal(seq[-1][0]["main"][:, 0], [8, 9])  # negative index: last batch


def test_out_of_range_index() -> None:
    seq = _sequence(10, 4)
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(IndexError):
        seq[-4]


def test_no_shuffle_keeps_order_across_epochs() -> None:
    seq = _sequence(10, 4)
    first = np.concatenate(_epoch(seq))
    seq.on_epoch_end()
    np.testing.assert_array_equal(np.concatenate(_epoch(seq)), np.arange(10))
    np.testing.assert_array_equal(first, np.arange(10))


def test_shuffle_changes_order_between_epochs_but_covers_all_rows() -> None:
    seq = _sequence(40, 8, shuffle=True, seed=123)
    epochs = []
    for _ in range(3):
        batches = _epoch(seq)
        rows = np.concatenate(batches)
        assert sorted(rows.tolist()) == list(range(40))  # every row exactly once
        epochs.append([frozenset(b.tolist()) for b in batches])
        seq.on_epoch_end()
    assert epochs[0] != epochs[1]
    assert epochs[1] != epochs[2]
    assert epochs[0][0] != frozenset(range(8))  # the first epoch is shuffled too


def test_shuffle_keeps_inputs_and_targets_aligned() -> None:
    seq = _sequence(25, 6, shuffle=True, seed=1)
    for _ in range(2):
        for i in range(len(seq)):
            x, y = seq[i]
            np.testing.assert_array_equal(y[:, 0], x["main"][:, 0] * 10)
            np.testing.assert_array_equal(x["other"], x["main"][:, 0] * 2)
        seq.on_epoch_end()


def test_same_seed_same_order() -> None:
    a = _sequence(30, 7, shuffle=True, seed=9)
    b = _sequence(30, 7, shuffle=True, seed=9)
    for x, y in zip(_epoch(a), _epoch(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_uint8_images_become_float32_in_unit_range() -> None:
    images = np.zeros((3, 2, 2, 3), dtype=np.uint8)
    images[0] = 255
    images[1] = 51
    seq = ArraySequence({"img": images}, np.zeros((3, 1), "float32"), batch_size=3)
    x, _ = seq[0]
    assert x["img"].dtype == np.float32
    assert x["img"].shape == (3, 2, 2, 3)
    assert x["img"].min() >= 0.0 and x["img"].max() <= 1.0
    np.testing.assert_allclose(x["img"][0], 1.0)
    np.testing.assert_allclose(x["img"][1], 0.2)
    np.testing.assert_allclose(x["img"][2], 0.0)
    assert images.dtype == np.uint8 and images[0].max() == 255  # the stored array is untouched


def test_every_pixel_value_scales_to_the_same_float32_as_a_cast_then_a_division() -> None:
    """The one-pass scaling gives the bits the two-pass `astype("float32") / 255.0` gave, for every uint8 value,
    on a strided (non-contiguous) batch too."""
    values = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    for batch in (values, values[:, ::2, ::-1]):
        scaled = as_model_input(batch)
        assert scaled.dtype == np.float32 and scaled.shape == batch.shape
        assert np.array_equal(scaled.view(np.uint32), (batch.astype("float32") / 255.0).view(np.uint32))
    assert values.dtype == np.uint8 and values.max() == 255  # the input is untouched


def test_other_dtypes_are_passed_through() -> None:
    ids = np.array([[1, 2], [3, 4]], dtype=np.int32)
    assert as_model_input(ids) is ids
    floats = np.ones((2, 2), dtype=np.float32)
    assert as_model_input(floats) is floats


def test_without_targets_items_are_one_tuples() -> None:
    seq = ArraySequence({"main": np.ones((5, 2), "float32")}, None, batch_size=2)
    item = seq[2]
    assert isinstance(item, tuple) and len(item) == 1
    assert item[0]["main"].shape == (1, 2)


@pytest.mark.parametrize("batch_size", [0, -1])
def test_bad_batch_size(batch_size: int) -> None:
    with pytest.raises(ValueError):
        _sequence(10, batch_size)


def test_keras_can_fit_on_it() -> None:
    keras = pytest.importorskip("keras")
    inputs = keras.Input(shape=(1,), name="main")
    model = keras.Model(inputs={"main": inputs}, outputs=keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    seq = ArraySequence(
        {"main": np.arange(12, dtype="float32")[:, None] / 12}, np.zeros((12, 1), "float32"), 4, shuffle=True
    )
    history = model.fit(seq, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
