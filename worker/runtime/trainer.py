"""One training, inside the child: data → preprocessing → the user's cells → fit → best epoch → model file."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core import data, evaluation, preprocessing
from core.catalog import CUSTOM_SCORE, greater_is_better
from core.sequences import FEEDS_ARRAY, ArraySequence, as_model_input, input_count, inputs_for, takes_array
from fitstudio.deep_learning import _context
from worker.runtime import cells, checkpoint, control
from worker.runtime.callbacks import BaseCallback, EvalSet, RunState

TRAIN_SAMPLE_ROWS = 2000
DRY_RUN_ROWS = 256


class Drained(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The worker is stopping: the session was checkpointed (when it can be) and goes back to the queue."""


class TrainingError(RuntimeError):
    """The training cannot go on, for a reason stated in the message (not a bug in user code)."""


def _say(message: str) -> None:
    print(f"[fitstudio] {message}", flush=True)


def check_output(model: Any, inputs: dict[str, np.ndarray], prediction_type: str, n_classes: int) -> int:
    """Run one tiny batch and check the output fits the prediction type; returns the output width."""
    expected = set(inputs)
    names = {getattr(t, "name", None) for t in (getattr(model, "inputs", None) or [])}
    one_to_one = len(names) == 1 and len(expected) == 1  # a single input gets the array whatever its name
    if names and None not in names and names != expected and not one_to_one:
        raise TrainingError(
            f"build_model returned a model with inputs {sorted(names)}, but the data provides {sorted(expected)}; "
            "name each Input after a key of input_shapes."
        )
    sample = {k: as_model_input(v[:2]) for k, v in inputs.items()}
    if len(sample) == 1 and input_count(model) is None and getattr(model, FEEDS_ARRAY, None) is None:
        out = _probe(model, sample)
    else:
        out = cells.call("architecture", model.predict_on_batch, inputs_for(model, sample))
    if isinstance(out, (list, tuple, dict)):
        raise TrainingError("The model has several outputs; fitstudio trains models with one output.")
    out = np.asarray(out)
    if out.ndim != 2:
        raise TrainingError(f"The model's output has shape {out.shape[1:]}; it must be 2-D (batch, width).")
    width = out.shape[1]
    if prediction_type == "regression" and width != 1:
        raise TrainingError(f"Regression needs an output of width 1; the model's last layer has width {width}.")
    if prediction_type == "binary" and width not in (1, 2):
        raise TrainingError(
            f"Binary classification needs an output of width 1 (sigmoid) or 2 (softmax); the model's is {width}."
        )
    if prediction_type == "multiclass" and width != n_classes:
        raise TrainingError(
            f"This target has {n_classes} classes; the model's output has width {width}. "
            "Use Dense(n_classes, activation='softmax')."
        )
    return width


def _probe(model: Any, sample: dict[str, np.ndarray]) -> Any:
    """MODEL's output on SAMPLE (one input) when Keras cannot tell how many inputs the model takes (a subclassed
    model): the bare array first, else the dict (code written for DSS); what worked is remembered on the model."""
    array = next(iter(sample.values()))
    for feeds_array, x in ((True, array), (False, sample)):
        try:
            model(x, training=False)  # eager: a failed try leaves no traced predict function behind
        except Exception:  # noqa: BLE001 - the other way may work; if neither does, the first error is reported
            continue
        setattr(model, FEEDS_ARRAY, feeds_array)
        return cells.call("architecture", model.predict_on_batch, x)
    return cells.call("architecture", model.predict_on_batch, array)


def fast_training_data(
    x: dict[str, np.ndarray], y: np.ndarray, training: dict[str, Any], seed: int, single_input: bool = False
) -> dict[str, Any]:
    """model.fit arguments for standard mode: the arrays themselves (as a hand-written fit would), or for uint8
    images a tf.data pipeline that scales each batch, so the images are never held in memory as float32.
    SINGLE_INPUT: the model takes one input, given as the bare array (sequences.takes_array)."""
    if not any(v.dtype == np.uint8 for v in x.values()):
        inputs: Any = next(iter(x.values())) if single_input else x
        return {"x": inputs, "y": y, "batch_size": training["batch_size"], "shuffle": training["shuffle"]}
    repeat = bool(training["steps_per_epoch"])
    return {
        "x": gathered_batches(
            x, y, training["batch_size"], training["shuffle"], seed, repeat=repeat, single_input=single_input
        )
    }


def gathered_batches(
    x: dict[str, np.ndarray],
    y: np.ndarray,
    batch_size: int,
    shuffle: bool,
    seed: int,
    repeat: bool = False,
    single_input: bool = False,
) -> Any:
    """A tf.data pipeline of (inputs, targets) batches gathered by row number, uint8 inputs scaled to [0, 1]
    (REPEAT: endless, for fits with steps_per_epoch; SINGLE_INPUT: the one input's batch, not a dict)."""
    import tensorflow as tf

    # Shuffle row numbers and gather each batch: shuffling the rows themselves would copy every image through
    # a shuffle buffer as large as the dataset, once per epoch.
    xs, ys = {k: tf.constant(v) for k, v in x.items()}, tf.constant(y)

    def gather(rows: Any) -> tuple[Any, Any]:
        batch = {k: tf.gather(v, rows) for k, v in xs.items()}
        scaled = {k: tf.cast(v, tf.float32) / 255.0 if v.dtype == tf.uint8 else v for k, v in batch.items()}
        return (next(iter(scaled.values())) if single_input else scaled), tf.gather(ys, rows)

    ds = tf.data.Dataset.range(len(y))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    return (ds.repeat() if repeat else ds).prefetch(tf.data.AUTOTUNE)


def _true_values(series: Any, target: dict[str, Any]) -> np.ndarray:
    if target["kind"] == "regression":
        return series.to_numpy(dtype="float64")
    return preprocessing.class_indices(series, target)


def _strategy(n_gpus: int) -> Any:
    if n_gpus > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


def train(job: dict[str, Any], send: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Run the whole training of JOB; returns the result document (the model is saved in out_dir)."""
    import keras

    design = job["design"]
    settings = design["settings"]
    ptype = design["prediction_type"]
    target_col = design["target"]
    code = settings["code"]
    started = time.time()

    frame = data.load(job)
    if job.get("dry_run") and len(frame) > DRY_RUN_ROWS:
        frame = frame.sample(n=DRY_RUN_ROWS, random_state=settings["split"]["seed"]).reset_index(drop=True)
    train_df, val_df = data.split(frame, settings["split"]["train_ratio"], settings["split"]["seed"])
    _say(f"{len(frame)} rows: {len(train_df)} for training, {len(val_df)} for validation")
    prep = preprocessing.fit(train_df, design)
    prep["target"] = preprocessing.fit_target(frame[target_col], ptype)
    classes = prep["target"].get("classes")
    n_classes = len(classes) if classes is not None else 1
    if classes is not None and n_classes < 2:
        raise TrainingError(f"The target {target_col!r} has a single class; there is nothing to learn.")
    files_root = job["dataset"].get("files_root")
    train_x = preprocessing.transform(train_df, prep, files_root)
    val_x = preprocessing.transform(val_df, prep, files_root)
    shapes = {k: tuple(v) for k, v in prep["input_shapes"].items()}
    _say(f"inputs: {shapes}; preprocessing took {time.time() - started:.1f}s")

    metric = settings["metric"]
    custom_score = None
    custom_greater = None
    if metric == CUSTOM_SCORE:
        score_cell = cells.load("custom_score", code["custom_score"])
        (score_fn,) = cells.require(score_cell, "custom_score", ["score"])
        custom_greater = bool(getattr(score_cell, "GREATER_IS_BETTER", True))

        def custom_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
            return float(cells.call("custom_score", score_fn, y_true, y_pred))

    greater = greater_is_better(ptype, metric, custom_greater)
    _context.variables.update({"DKU_MODEL_METRIC": f"Test {metric}", "DKU_MODEL_METRIC_GREATER_IS_BETTER": greater})
    # The base callbacks' scalars go there; the worker copies the folder to the session's TensorBoard logs.
    tensorboard_dir = job.get("tensorboard_dir") or str(Path(job["out_dir"]) / "tensorboard")
    _context.variables["TENSORBOARD_LOGDIR"] = tensorboard_dir

    arch = cells.load("architecture", code["architecture"])
    build_model, compile_model = cells.require(arch, "architecture", ["build_model", "compile_model"])
    with _strategy(len(job.get("gpus") or [])):
        model = cells.call("architecture", build_model, shapes, n_classes)
        if not isinstance(model, keras.Model):
            raise TrainingError(f"build_model must return a keras Model, not {type(model).__name__}.")
        compiled = cells.call("architecture", compile_model, model)
        model = compiled if isinstance(compiled, keras.Model) else model
    if not getattr(model, "compiled", True) or getattr(model, "optimizer", None) is None:
        raise TrainingError("compile_model must call model.compile(...) (and return the model).")
    width = check_output(model, val_x, ptype, n_classes)
    single_input = takes_array(model, shapes)  # decided once: the fit data, the sequences and the metrics agree
    if single_input and len(getattr(model, "inputs", None) or []) == 1 and set(shapes) != {model.inputs[0].name}:
        _say(f"the model's one input receives {next(iter(shapes))!r} (code-cells.md: whatever the input is named)")

    train_y = preprocessing.encode_targets(train_df[target_col], prep["target"], width)
    val_y = preprocessing.encode_targets(val_df[target_col], prep["target"], width)
    rng = np.random.default_rng(settings["split"]["seed"])
    sample_rows = np.sort(rng.choice(len(train_df), size=min(TRAIN_SAMPLE_ROWS, len(train_df)), replace=False))
    validation = EvalSet(val_x, _true_values(val_df[target_col], prep["target"]), encoded=val_y)
    train_sample = EvalSet(
        {k: v[sample_rows] for k, v in train_x.items()},
        _true_values(train_df[target_col].iloc[sample_rows], prep["target"]),
    )
    run = RunState()
    training = settings["training"]
    base = BaseCallback(
        ptype, metric, greater, validation, train_sample, send, training["epochs"], custom_score, run, tensorboard_dir
    )
    base_callbacks: list[Any] = [base]
    seed = settings["split"]["seed"]

    def build_train_sequence_with_batch_size(batch_size: int) -> ArraySequence:
        return ArraySequence(
            train_x, train_y, batch_size, shuffle=training["shuffle"], seed=seed, single_input=single_input
        )

    def build_validation_sequence_with_batch_size(batch_size: int) -> ArraySequence:
        return ArraySequence(val_x, val_y, batch_size, single_input=single_input)

    if job.get("dry_run"):
        return _dry_run(
            model,
            training,
            code,
            shapes,
            width,
            build_train_sequence_with_batch_size,
            build_validation_sequence_with_batch_size,
        )
    ckpt_dir = Path(job["checkpoint_dir"]) if job.get("checkpoint_dir") else None
    resumable = ckpt_dir is not None and training["mode"] == "standard"
    state = checkpoint.load(ckpt_dir) if resumable else None
    initial_epoch = 0
    if state is not None:
        model.load_weights(state["weights_path"])
        run.history = list(state["history"])
        run.best_epoch, run.best_value = state.get("best_epoch"), state.get("best_value")
        run.best_weights = checkpoint.best_weights(state)
        _context.loaded_models[:] = state.get("lineage") or []
        initial_epoch = base.initial_epoch = int(state["completed_epochs"])
        _say(f"resuming from the checkpoint after epoch {initial_epoch}")
    last_checkpoint = time.monotonic()

    def save_checkpoint(completed: int) -> None:
        checkpoint.save(
            ckpt_dir,
            model,
            completed,
            run.history,
            run.best_epoch,
            run.best_value,  # type: ignore[arg-type]
            run.best_weights,
            list(_context.loaded_models) or None,
        )

    def on_epoch_done(epoch: int) -> None:
        nonlocal last_checkpoint
        every = float(job.get("checkpoint_every_s") or 0)
        if resumable and time.monotonic() - last_checkpoint >= every:
            save_checkpoint(epoch)
            last_checkpoint = time.monotonic()

    base.on_epoch_done = on_epoch_done
    send({"type": "status", "phase": "training"})
    if training["mode"] == "standard":
        callbacks = list(base_callbacks)
        if training["early_stopping"]["enabled"]:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=f"Test {metric}",
                    mode="max" if greater else "min",
                    patience=training["early_stopping"]["patience"],
                )
            )
        base.compute_val_loss = True
        model.fit(
            **fast_training_data(train_x, train_y, training, seed, single_input),
            epochs=training["epochs"],
            steps_per_epoch=training["steps_per_epoch"],
            callbacks=callbacks,
            verbose=2,
            initial_epoch=initial_epoch,
        )
    else:
        tcell = cells.load("training", code["training"])
        seq_name = "build_sequences" if callable(getattr(tcell, "build_sequences", None)) else "build_sequence"
        build_sequences, fit_model = cells.require(tcell, "training", [seq_name, "fit_model"])
        sequences = cells.call(
            "training", build_sequences, build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size
        )
        if not isinstance(sequences, (tuple, list)) or len(sequences) != 2:
            raise cells.CellError(
                {
                    "type": "TypeError",
                    "cell": "training",
                    "line": None,
                    "traceback": None,
                    "message": f"{seq_name} must return (train_sequence, validation_sequence).",
                }
            )
        cells.call("training", fit_model, model, sequences[0], sequences[1], base_callbacks)

    if control.drain_requested.is_set():
        if resumable:
            save_checkpoint(len(run.history))
            raise Drained(f"checkpointed after epoch {len(run.history)}")
        raise Drained("advanced mode cannot resume; the session starts again on another worker")
    if run.best_weights is not None:
        model.set_weights(run.best_weights)
        best = next(h for h in run.history if h["epoch"] == run.best_epoch)
        final = {k: v for k, v in best.items() if k != "epoch"}
    elif run.interrupted:
        raise TrainingError("The training was interrupted before its first epoch completed; there is no model to keep.")
    else:
        _say("fit_model did not pass base_callbacks to fit(): computing the metrics once, at the end")
        final = base.scores(model)
    out_dir = Path(job["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "model.tmp.keras"
    model.save(tmp)
    tmp.replace(out_dir / "model.keras")
    _say(f"done in {time.time() - started:.1f}s; kept epoch {run.best_epoch}")
    return {
        "metrics": final,
        "history": run.history,
        "best_epoch": run.best_epoch,
        "interrupted": run.interrupted,
        "input_shapes": {k: list(v) for k, v in shapes.items()},
        "n_classes": n_classes,
        "class_labels": classes,
        "preprocessing": prep,
        "output_width": width,
        "lineage": list(_context.loaded_models) or None,
        "evaluation": evaluation.of_model(ptype, validation, model, classes),
    }


def _dry_run(
    model: Any,
    training: dict[str, Any],
    code: dict[str, str],
    shapes: dict[str, tuple[int, ...]],
    width: int,
    build_train: Callable[[int], Any],
    build_validation: Callable[[int], Any],
) -> dict[str, Any]:
    """Train one small batch (through the user's build_sequences in advanced mode); return the summary."""
    train_seq: Any = build_train(min(training["batch_size"], 32))
    if training["mode"] == "advanced":
        tcell = cells.load("training", code["training"])
        seq_name = "build_sequences" if callable(getattr(tcell, "build_sequences", None)) else "build_sequence"
        build_sequences, _fit = cells.require(tcell, "training", [seq_name, "fit_model"])
        sequences = cells.call("training", build_sequences, build_train, build_validation)
        train_seq = sequences[0]
    batch = cells.call("training", train_seq.__getitem__, 0)
    loss = cells.call("architecture", model.train_on_batch, batch[0], batch[1])
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kw: lines.append(line))
    loss_value = float(np.asarray(loss).reshape(-1)[0]) if loss is not None else None
    return {
        "summary": "\n".join(lines),
        "input_shapes": {k: list(v) for k, v in shapes.items()},
        "output_width": width,
        "loss": loss_value,
        "params": int(model.count_params()),
    }
