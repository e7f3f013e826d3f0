"""One training, inside the child: data → preprocessing → the user's cells → fit → best epoch → model file.

`train` runs the named steps: prepare (data and preprocessing, worker/runtime/prepare.py), score (the metric),
build (the user's model), fit (standard or advanced, worker/runtime/fit.py) and finish (the best epoch kept, the
model saved).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import cells as contract
from core import evaluation, preprocessing, target_scaling
from core.catalog import CUSTOM_SCORE, as_test_metric, greater_is_better
from core.contracts import Design, DryRunResult, Job, Result
from core.metrics import OUTPUT_ACTIVATION
from core.row_views import is_view
from core.sequences import takes_array
from fitstudio.deep_learning import _context
from worker.runtime import cells, control, layer_configs, limits, phases, provenance
from worker.runtime.callbacks import BaseCallback, EvalSet, Scoring
from worker.runtime.errors import Drained, TrainingError, say
from worker.runtime.fit import FitData, fit_advanced, fit_standard, takes_initial_epoch, user_sequences
from worker.runtime.model_check import check_output, output_activation, pixel_rescaling, takes_class_indices
from worker.runtime.one_batch import train_one_batch
from worker.runtime.prepare import Prepared, prepare
from worker.runtime.real_units import in_real_units
from worker.runtime.resume import Checkpoints

# The Train metrics' sample: a tenth of the training rows, at least TRAIN_SAMPLE_MIN and at most TRAIN_SAMPLE_ROWS
# (all of them when fewer). Its forward pass each epoch then costs at most a tenth of one over the training rows: at
# 2,000 rows of a 2,500-image dataset it was a forward pass over every training image, every epoch
# (docs/decisions.md, "The Train metrics' sample").
TRAIN_SAMPLE_ROWS = 2000
TRAIN_SAMPLE_MIN = 200
TRAIN_SAMPLE_SHARE = 10

Send = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Built:
    """The user's compiled model, with its output width, how it takes a single input and whether its loss takes
    class indices (a sparse categorical crossentropy) instead of one-hot targets."""

    model: Any
    width: int
    single_input: bool
    class_indices: bool = False


def _true_values(series: Any, target: dict[str, Any]) -> np.ndarray:
    if target["kind"] == "regression":
        return series.to_numpy(dtype="float64")
    return preprocessing.class_indices(series, target)


def _strategy(n_gpus: int) -> Any:
    if n_gpus > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


def score(job: Job) -> Scoring:
    """The metric to optimise (the custom_score cell loaded when it is the custom score), shared with user code."""
    design = job.design
    custom_score, custom_greater = None, None
    if design.metric == CUSTOM_SCORE:
        score_cell = cells.load_cell(contract.CUSTOM_SCORE, design.code[contract.CUSTOM_SCORE])
        (score_fn,) = cells.require(score_cell, contract.CUSTOM_SCORE, [contract.SCORE.name])
        custom_greater = bool(getattr(score_cell, contract.GREATER_IS_BETTER, True))

        def custom_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
            return float(cells.call(contract.CUSTOM_SCORE, score_fn, y_true, y_pred))

    greater = greater_is_better(design.prediction_type, design.metric, custom_greater)
    _context.variables.update(
        {"DKU_MODEL_METRIC": as_test_metric(design.metric), "DKU_MODEL_METRIC_GREATER_IS_BETTER": greater}
    )
    # The base callbacks' scalars go there; the worker copies the folder to the session's TensorBoard logs.
    _context.variables["TENSORBOARD_LOGDIR"] = tensorboard_dir(job)
    return Scoring(design.prediction_type, design.metric, greater, custom_score)


def tensorboard_dir(job: Job) -> str:
    """Where the training writes its TensorBoard scalars."""
    return job.tensorboard_dir or str(Path(job.out_dir) / "tensorboard")


def build(job: Job, prepared: Prepared) -> Built:
    """The architecture cell's model, built and compiled (on every GPU of the job), checked on a tiny batch."""
    import keras

    arch = cells.load_cell(contract.ARCHITECTURE, job.design.code[contract.ARCHITECTURE])
    names = [contract.BUILD_MODEL.name, contract.COMPILE_MODEL.name]
    build_model, compile_model = cells.require(arch, contract.ARCHITECTURE, names)
    with _strategy(len(job.gpus or [])):
        model = cells.call(contract.ARCHITECTURE, build_model, prepared.shapes, prepared.n_classes)
        if not isinstance(model, keras.Model):
            raise TrainingError(f"build_model must return a keras Model, not {type(model).__name__}.")
        compiled = cells.call(contract.ARCHITECTURE, compile_model, model)
        model = compiled if isinstance(compiled, keras.Model) else model
    if not getattr(model, "compiled", True) or getattr(model, "optimizer", None) is None:
        raise TrainingError("compile_model must call model.compile(...) (and return the model).")
    width = check_output(model, prepared.val_x, job.design.prediction_type, prepared.n_classes)
    activation = output_activation(model, job.design.prediction_type, width)
    if activation:  # stored with the trained model: scoring applies it too
        prepared.prep["target"][OUTPUT_ACTIVATION] = activation
    shapes = prepared.shapes
    single_input = takes_array(model, shapes)  # decided once: the fit data, the sequences and the metrics agree
    if single_input and len(getattr(model, "inputs", None) or []) == 1 and set(shapes) != {model.inputs[0].name}:
        say(f"the model's one input receives {next(iter(shapes))!r} (code-cells.md: whatever the input is named)")
    _say_unloadable(model)
    rescaling = pixel_rescaling(model, shapes)
    if rescaling:  # it still trains, on images 255 times dimmer: said, not refused
        say(
            f"{', '.join(rescaling)}: the model rescales its images as if they were 0-255 pixels, but fitstudio "
            "gives them already scaled to [0, 1] (code-cells.md), so its layers see values of at most 1/255; "
            "remove that Rescaling layer"
        )
    sparse = width > 1 and takes_class_indices(model)
    if sparse:
        say("the loss is a sparse categorical crossentropy: the targets are class indices, not one-hot vectors")
    return Built(model, width, single_input, sparse)


def _say_unloadable(model: Any) -> None:
    """Warn when Keras alone could not load the saved file (custom layers whose __init__ takes no **kwargs)."""
    names = layer_configs.unloadable_by_keras(model)
    if names:
        say(
            f"{', '.join(names)}: __init__ takes no **kwargs, so Keras alone cannot load the saved model file (its "
            "config holds `trainable` and `dtype` too). fitstudio loads it for scoring, export and transfer "
            "learning; to load it elsewhere, write `def __init__(self, ..., **kwargs)` and "
            "`super().__init__(**kwargs)`"
        )


def fit_data(design: Design, prepared: Prepared, built: Built) -> FitData:
    """The inputs with their targets encoded for the model's output width."""
    target, scaling = prepared.prep["target"], target_scaling.of(prepared.prep)
    train_y, val_y = (
        target_scaling.scale(
            preprocessing.encode_targets(df[design.target], target, built.width, built.class_indices), scaling
        )
        for df in (prepared.train_df, prepared.val_df)
    )
    return FitData(prepared.train_x, train_y, prepared.val_x, val_y, design.training, design.seed, built.single_input)


def train_sample_rows(n_train: int) -> int:
    """How many of N_TRAIN training rows the Train metrics are computed on."""
    return min(n_train, max(TRAIN_SAMPLE_MIN, min(TRAIN_SAMPLE_ROWS, n_train // TRAIN_SAMPLE_SHARE)))


def eval_sets(design: Design, prepared: Prepared, fitting: FitData) -> tuple[EvalSet, EvalSet]:
    """The validation set and a seeded sample of the training rows, on which each epoch's metrics are computed.
    A streamed input's sample stays unread until the metrics read it: 2,000 rows of 128x128x3 images are 98 MB,
    gathered from random places in the cache before the first batch and then held through the whole training."""
    target, column = prepared.prep["target"], design.target
    train_df = prepared.train_df
    rng = np.random.default_rng(design.seed)
    rows = np.sort(rng.choice(len(train_df), size=train_sample_rows(len(train_df)), replace=False))
    say(f"each epoch's Train metrics on {len(rows):,} of the {len(train_df):,} training rows (a seeded sample)")
    scaling = target_scaling.of(prepared.prep)  # metrics on the target's own scale
    activation = target.get(OUTPUT_ACTIVATION)  # logits made probabilities
    val_true = _true_values(prepared.val_df[column], target)
    validation = EvalSet(prepared.val_x, val_true, encoded=fitting.val_y, scaling=scaling, activation=activation)
    train_sample = EvalSet(
        {k: v.pick(rows) if is_view(v) else v[rows] for k, v in prepared.train_x.items()},
        _true_values(train_df[column].iloc[rows], target),
        scaling=scaling,
        activation=activation,
    )
    return validation, train_sample


def train(job: Job, send: Send) -> Result | DryRunResult:
    """Run the whole training of JOB; returns its result (the model is saved in out_dir), or a dry run's summary."""
    started = time.time()
    design = job.design
    seeds = provenance.apply_seeds(design)  # before any weight is drawn: the same seed trains the same model
    prepared = prepare(job, started)
    # Kept with the preprocessing (a JSON field the trained model already has): no schema change.
    prepared.prep.update(seeds=seeds, environment=provenance.environment())
    phases.enter("building_model")
    scoring = score(job)
    built = build(job, prepared)
    fitting = fit_data(design, prepared, built)
    validation, train_sample = eval_sets(design, prepared, fitting)
    base = BaseCallback(
        scoring, validation, train_sample, send, design.training["epochs"], tensorboard_dir=tensorboard_dir(job)
    )
    if job.dry_run:
        return train_one_batch(built.model, design, fitting, prepared.shapes, built.width, base)
    limits.give_back_free_memory()  # what preparing and encoding freed: not counted for the whole training
    phases.enter("training")
    standard = design.training["mode"] == "standard"
    sequences = None if standard else user_sequences(design, fitting)
    # Advanced mode resumes only when its fit_model takes initial_epoch (and, we trust, hands it to fit()).
    checkpoints = Checkpoints(job, resumable=standard or takes_initial_epoch(sequences[2] if sequences else None))
    initial_epoch = checkpoints.restore(built.model, base)
    base.on_epoch_done = checkpoints.every_epoch(built.model, base.run)
    if sequences is None:
        fit_standard(built.model, fitting, base, initial_epoch)
    else:
        fit_advanced(built.model, design, sequences, base, initial_epoch)
    return finish(job, prepared, built, base, checkpoints, started)


def _stop_if_drained(model: Any, base: BaseCallback, checkpoints: Checkpoints) -> None:
    """The worker is stopping: checkpoint (standard mode) and hand the session back."""
    if not control.drain_requested.is_set():
        return
    completed = len(base.run.history)
    if checkpoints.enabled:
        checkpoints.save(model, base.run, completed)
        raise Drained(f"checkpointed after epoch {completed}")
    raise Drained("advanced mode cannot resume; the session starts again on another worker")


def _final_metrics(model: Any, base: BaseCallback) -> dict[str, Any]:
    """The best epoch's metrics, its weights put back into MODEL (or the metrics now, when no epoch was kept)."""
    run = base.run
    if run.best_weights is not None:
        model.set_weights(run.best_weights)
        best = next(h for h in run.history if h["epoch"] == run.best_epoch)
        return {k: v for k, v in best.items() if k != "epoch"}
    if run.interrupted:
        raise TrainingError("The training was interrupted before its first epoch completed; there is no model to keep.")
    say("fit_model did not pass base_callbacks to fit(): computing the metrics once, at the end")
    return base.scores(model)


def _save_model(model: Any, out_dir: Path) -> None:
    """MODEL as OUT_DIR/model.keras, written whole before it takes that name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "model.tmp.keras"
    model.save(tmp)
    tmp.replace(out_dir / "model.keras")


def finish(
    job: Job, prepared: Prepared, built: Built, base: BaseCallback, checkpoints: Checkpoints, started: float
) -> Result:
    """Keep the best epoch, save the model and report what the training learned."""
    model, run = built.model, base.run
    phases.note(f"{len(run.history)} epoch(s)")
    _stop_if_drained(model, base, checkpoints)
    checkpoints.save_final(model, run)  # before the best epoch's weights replace the last one's
    final = _final_metrics(model, base)
    phases.enter("saving")
    _save_model(in_real_units(model, prepared.prep), Path(job.out_dir))  # the file predicts the real target
    phases.enter("evaluating")
    # The kept epoch's outputs (held only with its weights, now the model's): the same numbers, without another pass.
    evaluated = evaluation.of_model(
        job.design.prediction_type, base.validation, model, prepared.classes, run.best_outputs
    )
    phases.close()
    say(f"done in {time.time() - started:.1f}s; kept epoch {run.best_epoch}")
    return Result(
        metrics=final,
        history=run.history,
        best_epoch=run.best_epoch,
        interrupted=run.interrupted,
        input_shapes={k: list(v) for k, v in prepared.shapes.items()},
        n_classes=prepared.n_classes,
        class_labels=prepared.classes,
        preprocessing=prepared.prep,
        output_width=built.width,
        lineage=list(_context.loaded_models) or None,
        evaluation=evaluated,
    )
