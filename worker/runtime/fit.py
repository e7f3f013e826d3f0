"""Fitting the model: standard mode's own fit from the form's parameters, or the training cell's fit_model."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import cells as contract
from core.contracts import Design, ErrorInfo
from core.row_views import is_view
from core.sequences import ArraySequence
from worker.runtime import cells
from worker.runtime.callbacks import BaseCallback, in_graph_scaling
from worker.runtime.eval_sequence import user_validation


@dataclass(frozen=True)
class FitData:
    """The preprocessed inputs and encoded targets a fit trains and validates on."""

    train_x: dict[str, np.ndarray]
    train_y: np.ndarray
    val_x: dict[str, np.ndarray]
    val_y: np.ndarray
    training: dict[str, Any]  # the design's training settings (batch size, shuffle, steps per epoch …)
    seed: int
    single_input: bool  # the model takes one input, given as the bare array (sequences.takes_array)

    def train_sequence(self, batch_size: int) -> ArraySequence:
        """build_train_sequence_with_batch_size, as the training cell receives it."""
        return ArraySequence(
            self.train_x,
            self.train_y,
            batch_size,
            shuffle=self.training["shuffle"],
            seed=self.seed,
            single_input=self.single_input,
        )

    def validation_sequence(self, batch_size: int) -> ArraySequence:
        """build_validation_sequence_with_batch_size, as the training cell receives it."""
        return ArraySequence(self.val_x, self.val_y, batch_size, single_input=self.single_input)


def fast_training_data(
    x: dict[str, Any], y: np.ndarray, training: dict[str, Any], seed: int, single_input: bool = False
) -> dict[str, Any]:
    """model.fit arguments for standard mode: for arrays, Keras's own feed of them (as a hand-written fit makes)
    without tf.data's autotuning; for uint8 images a tf.data pipeline that scales each batch, so the images are
    never held in memory as float32; for streamed inputs (RowViews) a tf.data pipeline that reads each batch from
    their files. SINGLE_INPUT: the model takes one input, given as the bare array (sequences.takes_array)."""
    if not any(is_view(v) or v.dtype == np.uint8 for v in x.values()):
        inputs: Any = next(iter(x.values())) if single_input else x
        feed = (
            None
            if training["steps_per_epoch"]
            else keras_array_feed(inputs, y, training["batch_size"], training["shuffle"])
        )
        if feed is not None:
            return {"x": feed, "shuffle": False}  # the feed shuffles; Keras's default True only warns in the log
        # Keras's own handling of a partial epoch over arrays (steps_per_epoch), as before
        return {"x": inputs, "y": y, "batch_size": training["batch_size"], "shuffle": training["shuffle"]}
    repeat = bool(training["steps_per_epoch"])
    batches = gathered_batches(x, y, training["batch_size"], training["shuffle"], seed, repeat, single_input)
    return {"x": batches, "shuffle": False}  # shuffled by gathered_batches, not by Keras


def keras_array_feed(x: Any, y: np.ndarray, batch_size: int, shuffle: bool) -> Any | None:
    """The tf.data pipeline model.fit(x, y, batch_size, shuffle) builds for in-memory arrays, the same batches in the
    same order, without tf.data's autotuning, which stalled epochs after the metrics' pause (_fixed_options);
    Keras gives no option for it, so its adapter is called here; None where it has none (another Keras version)."""
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:  # pragma: no cover - the pinned Keras has it
        return None
    adapter = ArrayDataAdapter(x, y, batch_size=batch_size, shuffle=shuffle)
    return _fixed_options(_counted(adapter.get_tf_dataset(), adapter.num_batches))


def _counted(ds: Any, batches: int) -> Any:
    """DS with its number of BATCHES known to Keras (params["steps"]: a session's progress shows "batch i of n" from
    the first epoch); tf.data cannot count a pipeline built from a generator or an adapter's flat_map, and a wrong
    count fails the epoch rather than mislabelling it."""
    import tensorflow as tf

    return ds.apply(tf.data.experimental.assert_cardinality(batches))


def _fixed_options(ds: Any) -> Any:
    """DS without tf.data's default graph rewrites and without its autotuning.

    The rewrites serialize the pipeline, the captured images included, when its first iterator is made (up to 0.2 s
    of CPU at 20k 64x64 images, once per fit), for rewrites these pipelines do not need (they are parallel and
    prefetched already); Keras's own array feed turns them off too. The autotuning stalled the training after each
    pause between epochs (the base callbacks' metrics): with it, 5 of 8 epochs of the default CNN on 16,000 images
    took twice as long (about 10 s against 5, the process idle for seconds at a time); without it, none did
    (docs/benchmarks.md, "Slow image epochs: tf.data's autotuning"). The pipeline's AUTOTUNE parallelism and prefetch
    then take tf.data's static defaults."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.autotune.enabled = False
    return ds.with_options(options)


def _row_numbers(n: int, per_read: int, shuffle: bool, seed: int, repeat: bool) -> Any:
    """A tf.data source of row numbers 0..N-1, PER_READ at a time, in a new seeded order every epoch when SHUFFLE
    (REPEAT: endless, for fits with steps_per_epoch). A generator's permutation holds 4 bytes a row, where
    tf.data's shuffle of the row numbers keeps one tensor per row (gigabytes at 20 M rows) and cost 5 s of an
    800k-row epoch's feed."""
    import tensorflow as tf

    rng, wide = np.random.default_rng(seed), n >= 2**31

    def numbers() -> Any:
        order = np.arange(n, dtype=np.int64 if wide else np.int32)
        if shuffle:
            rng.shuffle(order)  # in place
        for start in range(0, n, per_read):
            yield order[start : start + per_read]

    signature = tf.TensorSpec((None,), tf.int64 if wide else tf.int32)
    ds = tf.data.Dataset.from_generator(numbers, output_signature=signature)
    return ds.repeat() if repeat else ds


HELD_AS_TENSOR_BYTES = 64 << 20  # in-memory inputs up to this size are copied into tensors and gathered in the graph
READ_BYTES = 8 << 20  # a streamed read gathers about this much at once, in whole batches (at most READ_BATCHES)
READ_BATCHES = 64


def gathered_batches(
    x: dict[str, Any],
    y: np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    repeat: bool = False,
    single_input: bool = False,
) -> Any:
    """A tf.data pipeline of (inputs, targets) batches gathered by row number, uint8 inputs scaled to [0, 1]
    (SINGLE_INPUT: the one input's batch, not a dict), from arrays held in memory or from streamed inputs
    (RowViews), which are read from their memory-mapped files: the training holds a few batches, not the split
    (data.md, "Datasets larger than memory").

    A streamed read gathers several batches (about READ_BYTES) in one call into Python, in file order, and
    `rebatch` cuts them back to BATCH_SIZE rows in the shuffled order: over 800k rows × 30 floats the feed alone
    took 5.2 s an epoch reading one batch per call behind tf.data's shuffle, 0.6 s this way."""
    import tensorflow as tf

    names = list(x)
    if held_as_tensors(x, y):
        xs, ys = [tf.constant(x[k]) for k in names], tf.constant(y)

        def gather(rows: Any) -> list[Any]:
            return [tf.gather(v, rows) for v in xs] + [tf.gather(ys, rows)]

        per_read = batch_size
    else:
        types = [tf.as_dtype(x[k].dtype) for k in names] + [tf.as_dtype(y.dtype)]
        row_bytes = sum(int(np.prod(x[k].shape[1:])) * x[k].dtype.itemsize for k in names) + y[:1].nbytes
        per_read = batch_size * max(1, min(READ_BATCHES, READ_BYTES // max(1, row_bytes * batch_size)))

        def read(rows: np.ndarray) -> list[np.ndarray]:
            return [x[k][rows] for k in names] + [y[rows]]  # RowView reads in file order and keeps the rows' order

        def gather(rows: Any) -> list[Any]:
            parts = tf.numpy_function(read, [rows], types, stateful=False)
            for part, shape in zip(parts, [x[k].shape for k in names] + [y.shape], strict=True):
                part.set_shape((None, *shape[1:]))
            return parts

    scale = in_graph_scaling()  # made here, eagerly: its divisor is a captured tensor (see in_graph_scaling)

    def split(*parts: Any) -> tuple[Any, Any]:
        inputs = scale(dict(zip(names, parts[:-1], strict=True)))
        return (inputs[names[0]] if single_input else inputs), parts[-1]

    ds = _row_numbers(len(y), per_read, shuffle, seed, repeat).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if per_read > batch_size:
        ds = ds.rebatch(batch_size)  # every read but the last is whole batches, so one epoch is ceil(n / batch) of them
    ds = ds.map(split)
    if not repeat:
        ds = _counted(ds, -(-len(y) // batch_size))
    return _fixed_options(ds.prefetch(tf.data.AUTOTUNE))


def held_as_tensors(x: dict[str, Any], y: np.ndarray) -> bool:
    """Whether the feed copies X and Y into tensors (in-memory arrays up to HELD_AS_TENSOR_BYTES) rather than
    reading each batch from them as from streamed inputs. tf.constant always copies: at 16,000 images of
    128x128x3 that copy took 2.5-3 s before the first batch and doubled the training's memory."""
    if any(is_view(v) for v in x.values()):
        return False
    return sum(v.nbytes for v in x.values()) + y.nbytes <= HELD_AS_TENSOR_BYTES


def early_stopping(keras: Any, base: BaseCallback, patience: int, resumed_after: int | None) -> Any:
    """Keras's EarlyStopping on the base callbacks' metric; RESUMED_AFTER (a resumed or continued training's last
    epoch) gives it back its best value and patience counter, as they were when that epoch ended."""
    run = base.run

    class ResumedEarlyStopping(keras.callbacks.EarlyStopping):  # type: ignore[misc, name-defined]
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            super().on_train_begin(logs)
            if resumed_after and run.best_epoch is not None and run.best_value is not None:
                # Its counter counts the epochs since the best one (it is reset at each improvement).
                self.best, self.wait = run.best_value, resumed_after - run.best_epoch

    return ResumedEarlyStopping(monitor=base.metric_key, mode="max" if base.greater else "min", patience=patience)


def fit_standard(model: Any, data: FitData, base: BaseCallback, initial_epoch: int) -> None:
    """Standard mode: model.fit with the form's epochs, batch size and early stopping, from INITIAL_EPOCH."""
    import keras

    training = data.training
    callbacks: list[Any] = [base]
    if training["early_stopping"]["enabled"]:
        callbacks.append(
            early_stopping(
                keras, base, training["early_stopping"]["patience"], initial_epoch if initial_epoch else None
            )
        )
    base.compute_val_loss = True
    model.fit(
        **fast_training_data(data.train_x, data.train_y, training, data.seed, data.single_input),
        epochs=training["epochs"],
        steps_per_epoch=training["steps_per_epoch"],
        callbacks=callbacks,
        verbose=2,
        initial_epoch=initial_epoch,
    )


def user_sequences(design: Design, data: FitData) -> tuple[Any, Any, Any]:
    """(train_sequence, validation_sequence, fit_model) of the training cell, its build_sequences called."""
    tcell = cells.load_cell(contract.TRAINING, design.code[contract.TRAINING])
    sequences_fn = contract.sequences_function(lambda name: callable(getattr(tcell, name, None)))
    build_sequences, fit_model = cells.require(tcell, contract.TRAINING, [sequences_fn.name, contract.FIT_MODEL.name])
    sequences = cells.call(contract.TRAINING, build_sequences, data.train_sequence, data.validation_sequence)
    if not isinstance(sequences, (tuple, list)) or len(sequences) != 2:
        message = f"{sequences_fn.name} must return (train_sequence, validation_sequence)."
        raise cells.CellError(ErrorInfo("TypeError", message, contract.TRAINING))
    return sequences[0], sequences[1], fit_model


def takes_initial_epoch(fit_model: Any) -> bool:
    """Whether the training cell's fit_model has an initial_epoch parameter (so a resumed training can say where)."""
    try:
        return fit_model is not None and "initial_epoch" in inspect.signature(fit_model).parameters
    except (TypeError, ValueError):  # a callable without a signature Python can read
        return False


def fit_advanced(
    model: Any, design: Design, sequences: tuple[Any, Any, Any], base: BaseCallback, initial_epoch: int = 0
) -> None:
    """Advanced mode: the training cell's fit_model, on the SEQUENCES of its build_sequences (user_sequences),
    given initial_epoch when it takes one."""
    train_sequence, validation_sequence, fit_model = sequences
    # The Test metrics are computed on the validation sequence the user returned, as DSS does (code-cells.md).
    base.validation = user_validation(validation_sequence, base.validation, design.prediction_type)
    extra = {"initial_epoch": initial_epoch} if takes_initial_epoch(fit_model) else {}
    cells.call(contract.TRAINING, fit_model, model, train_sequence, validation_sequence, [base], **extra)
