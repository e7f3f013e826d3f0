"""Standard mode's image feed (worker/runtime/fit.py gathered_batches): each epoch every row once, in a new order
drawn from the seed, the uint8 images scaled to float32 [0, 1] one batch at a time, the targets beside their rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests import helpers
from worker.runtime import fit
from worker.runtime.fit import fast_training_data, gathered_batches, held_as_tensors

N, BATCH = 10, 4


def images() -> dict[str, np.ndarray]:
    """Row i's pixels all hold 20 * i + (0, 1, 2 by channel): any row or scaling mix-up shows."""
    rows = (20 * np.arange(N, dtype=np.uint8))[:, None, None, None] + np.arange(3, dtype=np.uint8)
    return {"image": np.broadcast_to(rows, (N, 2, 2, 3)).copy()}


def epoch(it: object, batches: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """BATCHES batches of IT as NumPy: (inputs, targets)."""
    xs, ys = [], []
    for _ in range(batches):
        x, y = next(it)  # type: ignore[call-overload]
        xs.append(np.asarray(x["image"] if isinstance(x, dict) else x))
        ys.append(np.asarray(y))
    return xs, ys


def rows_of(ys: list[np.ndarray]) -> list[int]:
    return [int(v) for y in ys for v in y[:, 0]]


def check_content(xs: list[np.ndarray], ys: list[np.ndarray]) -> None:
    """Each batch's inputs are its rows' images, float32, divided by 255 (as the model's inputs would be)."""
    source = images()["image"]
    for x, y in zip(xs, ys, strict=True):
        assert x.dtype == np.float32 and y.dtype == np.float32
        rows = y[:, 0].astype(int)
        np.testing.assert_array_equal(x, source[rows].astype(np.float32) / np.float32(255))
    assert 0.0 <= min(float(x.min()) for x in xs) and max(float(x.max()) for x in xs) <= 1.0


@pytest.fixture(params=["held as tensors", "read a batch at a time"])
def feed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the feed takes in-memory inputs: copied into tensors (small ones) or read like streamed inputs."""
    if request.param == "read a batch at a time":
        monkeypatch.setattr(fit, "HELD_AS_TENSOR_BYTES", 0)
    return str(request.param)


def test_each_epoch_holds_every_row_once_in_a_new_order_scaled(feed: str) -> None:
    y = np.arange(N, dtype="float32")[:, None]
    it = iter(gathered_batches(images(), y, BATCH, True, 7).repeat(2))
    first, second = epoch(it, 3), epoch(it, 3)
    for xs, ys in (first, second):
        assert [len(b) for b in ys] == [4, 4, 2]
        assert sorted(rows_of(ys)) == list(range(N))
        check_content(xs, ys)
    assert rows_of(first[1]) != rows_of(second[1])  # reshuffled each epoch
    assert rows_of(first[1]) != list(range(N))
    again = iter(gathered_batches(images(), y, BATCH, True, 7).repeat(2))
    assert rows_of(epoch(again, 6)[1]) == rows_of(first[1] + second[1])  # the same seed, the same orders
    other = iter(gathered_batches(images(), y, BATCH, True, 8))
    assert rows_of(epoch(other, 3)[1]) != rows_of(first[1])


def test_in_order_without_shuffle_and_endless_with_steps_per_epoch(feed: str) -> None:
    y = np.arange(N, dtype="float32")[:, None]
    xs, ys = epoch(iter(gathered_batches(images(), y, BATCH, False, 0, single_input=True)), 3)
    assert rows_of(ys) == list(range(N))
    check_content(xs, ys)
    training = {"batch_size": BATCH, "shuffle": True, "steps_per_epoch": 2}
    fit = fast_training_data(images(), y, training, 3)
    assert fit.keys() == {"x", "shuffle"} and fit["shuffle"] is False  # a dataset carries its targets, shuffled
    ys = epoch(iter(fit["x"]), 9)[1]  # past one epoch (3 batches): repeats, each pass a permutation
    rows = rows_of(ys)
    assert sorted(rows[:10]) == sorted(rows[10:20]) == list(range(N))


def test_other_inputs_pass_unscaled_and_named(feed: str) -> None:
    data = {**images(), "numbers": np.linspace(0, 5, N, dtype="float32")[:, None]}
    y = np.arange(N, dtype="float32")[:, None]
    x, target = next(iter(gathered_batches(data, y, N, False, 0)))
    assert set(x) == {"image", "numbers"}
    np.testing.assert_array_equal(np.asarray(x["numbers"]), data["numbers"])
    assert np.asarray(x["image"]).dtype == np.float32
    np.testing.assert_array_equal(np.asarray(target), y)


def test_the_pipeline_is_not_rewritten_at_each_epoch_nor_autotuned() -> None:
    # tf.data's default rewrites serialize the pipeline with its captured images at its first iterator: ~0.2 s
    # of CPU at 20k 64x64 images; its autotuning stalled the epoch after each pause for the metrics, doubling it
    # (docs/benchmarks.md, "Slow image epochs: tf.data's autotuning"; bench/throughput.py --feeds tfdata-autotune).
    ds = gathered_batches(images(), np.zeros((N, 1), "float32"), BATCH, True, 0)
    assert ds.options().experimental_optimization.apply_default_optimizations is False
    assert ds.options().autotune.enabled is False


def test_large_inputs_are_read_a_batch_at_a_time_not_copied_into_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    # tf.constant always copies: at 16,000 128x128x3 images that was 2.5-3 s before the first batch and twice
    # the images' memory (docs/benchmarks.md).
    import tensorflow as tf

    data, y = images(), np.arange(N, dtype="float32")[:, None]
    assert held_as_tensors(data, y)
    monkeypatch.setattr(fit, "HELD_AS_TENSOR_BYTES", data["image"].nbytes - 1)
    assert not held_as_tensors(data, y)
    constants: list[int] = []
    real = tf.constant

    def recording(value: Any, *args: Any, **kwargs: Any) -> Any:
        constants.append(int(np.asarray(value).nbytes))
        return real(value, *args, **kwargs)

    monkeypatch.setattr(tf, "constant", recording)
    xs, ys = epoch(iter(gathered_batches(data, y, BATCH, True, 7)), 3)
    assert sorted(rows_of(ys)) == list(range(N))
    check_content(xs, ys)
    assert all(size < data["image"].nbytes for size in constants)


def test_keras_knows_the_epoch_s_batches_from_the_first_epoch(feed: str) -> None:
    # A session's progress shows "batch i of n" from Keras's params["steps"]; a generator's pipeline has no
    # count unless the feed gives one, and a wrong one would fail the epoch (tf.data checks it).
    import keras

    y = np.arange(N, dtype="float32")[:, None]
    ds = gathered_batches(images(), y, BATCH, True, 7, single_input=True)
    assert int(ds.cardinality()) == 3
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert helpers.steps_per_epoch(model, ds, 2) == [(3, 3), (3, 3)]
    endless = gathered_batches(images(), y, BATCH, True, 7, repeat=True)  # steps_per_epoch: Keras counts
    assert int(endless.cardinality()) in (-1, -2)  # infinite or unknown, never a count


def test_every_pixel_value_scaled_as_the_metrics_forward_pass_scales_it(feed: str) -> None:
    """The training feed and the metrics' forward pass share one scaling (callbacks.in_graph_scaling): each of the
    256 values gives as_model_input's float32, to the bit (a multiplication by the reciprocal of 255, which Grappler
    makes of a graph function's division by a literal, differs in the last bit for some values)."""
    from core.sequences import as_model_input

    values = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, None, None, None], (256, 1, 1, 3)).copy()
    y = np.arange(256, dtype="float32")[:, None]
    x, target = next(iter(gathered_batches({"image": values}, y, 256, False, 0, single_input=True)))
    rows = np.asarray(target)[:, 0].astype(int)
    got = np.asarray(x).view(np.uint32)
    assert np.array_equal(got, as_model_input(values[rows]).view(np.uint32))
