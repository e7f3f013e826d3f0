"""The base callbacks: metrics after every epoch, progress, interrupt, and keeping the best epoch."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from core import metrics, target_scaling
from core.catalog import TEST_PREFIX, TRAIN_PREFIX, as_test_metric, as_train_metric
from core.sequences import ArraySequence, inputs_for, takes_array
from worker.runtime import control

BATCH_EVENT_EVERY_S = 0.25
WATCH_EVERY_S = 0.05  # how soon an interrupt stops the training (at the end of the batch under way then)
PREDICT_BATCH = 1024
# A forward pass's inputs as float32 stay under this: 1,024 rows of 64×64×3 images, 256 of 128×128×3. At 1,024
# rows of 128×128×3 the default CNN's activations took the child to 3.5 GB (bench/streamed_up.py --images).
PREDICT_BYTES = 48 << 20
# The kept epoch's validation outputs are held for the final evaluation up to this size (a table's 4 M validation
# rows are 16 MB); larger ones are computed again at the end.
KEEP_OUTPUTS_BYTES = 256 << 20


def predict_rows(inputs: dict[str, Any]) -> int:
    """Rows per forward pass over INPUTS: PREDICT_BATCH, fewer for wide rows (large images)."""
    row = sum(int(np.prod(v.shape[1:])) * 4 for v in inputs.values())
    return max(1, min(PREDICT_BATCH, PREDICT_BYTES // max(1, row)))


@dataclass
class EvalSet:
    """Inputs and true values (class indices, or floats for regression) to compute metrics on."""

    inputs: dict[str, np.ndarray]
    y_true: np.ndarray
    encoded: np.ndarray | None = None  # the targets as the model is trained on them (for val_loss)
    scaling: dict[str, Any] | None = None  # a regression target's scaling (core/target_scaling.py)
    activation: str | None = None  # a classifier's logits: the activation that makes them probabilities

    def original(self, output: np.ndarray) -> np.ndarray:
        """The model's OUTPUT on the target's own scale (the scaling undone), logits made probabilities."""
        return metrics.activated(target_scaling.unscale(output, self.scaling), self.activation)

    def outputs(self, model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
        """(true values, raw output of MODEL) on the whole set."""
        return self.y_true, self.predict(model)

    def predict(self, model: keras.Model) -> np.ndarray:
        """The model's output on the whole set, in one pass of compiled forward calls (cheaper than predict())."""
        n, rows = len(self.y_true), predict_rows(self.inputs)
        try:
            call = forward(model, scaled=True)
            parts = []
            for start in range(0, n, rows):
                batch = {k: v[start : start + rows] for k, v in self.inputs.items()}  # uint8 images scaled in the call
                parts.append(np.asarray(call(inputs_for(model, batch))))
            return np.concatenate(parts) if parts else np.zeros((0, 1))
        except (TypeError, ValueError):  # a model that only works through predict() (odd inputs)
            single = takes_array(model, self.inputs)
            sequence = ArraySequence(self.inputs, None, rows, single_input=single)
            return np.asarray(model.predict(sequence, verbose=0))


_FORWARD: dict[bool, tuple[keras.Model, Callable[[Any], Any]]] = {}


def forward(model: keras.Model, scaled: bool = False) -> Callable[[Any], Any]:
    """MODEL's inference call compiled into a graph once per model: on a small CNN, 40 % less time per epoch's
    metrics than eager calls (docs/benchmarks.md). SCALED: uint8 inputs (images as they are held) are scaled to
    float32 in [0, 1] inside the graph, as as_model_input would, bit for bit; a quarter less time per validation
    pass of the default CNN than scaling each batch in NumPy first (docs/benchmarks.md, "The image metrics' forward
    pass")."""
    kept = _FORWARD.get(scaled)
    if kept is None or kept[0] is not model:
        import tensorflow as tf

        prepare = in_graph_scaling() if scaled else (lambda batch: batch)
        kept = _FORWARD[scaled] = (
            model,
            tf.function(lambda batch: model(prepare(batch), training=False), reduce_retracing=True),
        )
    return kept[1]


def in_graph_scaling() -> Callable[[Any], Any]:
    """A graph function's step that makes each uint8 tensor of a batch float32 divided by 255 (as_model_input),
    for the metrics' forward pass and the training feed alike. Call it eagerly, outside the graph it is used in."""
    import tensorflow as tf

    # Divided by a captured tensor, not a literal: Grappler turns a division by a constant into a multiplication by
    # its reciprocal, which differs from as_model_input's division in the last bit.
    divisor = tf.constant(255.0, tf.float32)

    def scale(batch: Any) -> Any:
        return tf.nest.map_structure(lambda v: tf.cast(v, tf.float32) / divisor if v.dtype == tf.uint8 else v, batch)

    return scale


def scalar_logs(entry: dict[str, Any]) -> dict[str, float]:
    """The epoch logs TensorBoard gets: the losses and every "Test "/"Train " metric that is a finite number."""
    out = {}
    for key, value in entry.items():
        if key in ("loss", "val_loss") or key.startswith((TEST_PREFIX, TRAIN_PREFIX)):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                out[key] = float(value)
    return out


class ScalarWriter:
    """Per-epoch scalars in TensorBoard event files under LOGDIR (the session's TENSORBOARD_LOGDIR), flushed at
    every epoch so TensorBoard shows a training live. Never fails the training: a write error is said once."""

    def __init__(self, logdir: str | None):
        self.logdir = logdir
        self._writer: Any = None
        self._broken = False

    def write(self, step: int, scalars: dict[str, float]) -> None:
        """Write SCALARS at STEP (the epoch number, from 1)."""
        if not self.logdir or self._broken or not scalars:
            return
        try:
            import tensorflow as tf

            if self._writer is None:
                self._writer = tf.summary.create_file_writer(self.logdir)
            with self._writer.as_default():
                for key, value in scalars.items():
                    tf.summary.scalar(key, value, step=step)
            self._writer.flush()
        except Exception as exc:  # noqa: BLE001 - TensorBoard logs are a convenience, never worth a failed training
            self._broken = True
            print(f"[fitstudio] TensorBoard scalars disabled: {type(exc).__name__}: {exc}", flush=True)

    def close(self) -> None:
        """Flush and close the event file."""
        writer, self._writer = self._writer, None  # a second fit() opens a new event file
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass


@dataclass(frozen=True)
class Scoring:
    """What each epoch is scored on: the prediction type's metrics, and which one decides the best epoch, how."""

    prediction_type: str
    metric: str
    greater: bool
    custom_score: Callable[[np.ndarray, np.ndarray], float] | None = None  # the custom_score cell's score()


@dataclass
class RunState:
    """What the base callbacks learned during training (read by the trainer at the end)."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    best_weights: list[np.ndarray] | None = None
    # (true values, raw output) on the validation split at the kept epoch: the final evaluation's, without a second
    # forward pass over the split (a pass over 20,000 images took 57 s of a 119-s session on 2 cores).
    best_outputs: tuple[np.ndarray, np.ndarray] | None = None
    interrupted: bool = False


class BaseCallback(keras.callbacks.Callback):
    """Computes "Test <metric>" / "Train <metric>" logs each epoch, reports progress, honours interrupts."""

    def __init__(
        self,
        scoring: Scoring,
        validation: EvalSet,
        train_sample: EvalSet,
        send: Callable[[dict[str, Any]], None],
        epochs_hint: int | None,
        run: RunState | None = None,
        tensorboard_dir: str | None = None,
    ):
        super().__init__()
        self.scalars = ScalarWriter(tensorboard_dir)
        self.prediction_type = scoring.prediction_type
        self.metric_key = as_test_metric(scoring.metric)
        self.greater = scoring.greater
        self.validation: Any = validation  # an EvalSet, or advanced mode's user sequence (eval_sequence.py)
        self.train_sample = train_sample
        self.send = send
        self.epochs_hint = epochs_hint
        self.custom_score = scoring.custom_score
        self.run = run or RunState()
        self._epoch = 0
        self._epoch_started = 0.0
        self._steps_before: int | None = None
        self._stop_requested = False
        self._watcher: threading.Thread | None = None
        self._watching = threading.Event()
        self._epoch_offset = 0
        self.initial_epoch = 0  # set by the trainer when it resumes from a checkpoint
        self.compute_val_loss = False  # standard mode: val_loss from our predictions, no second validation pass
        self.on_epoch_done: Callable[[int], None] | None = None
        self._validation_outputs: tuple[np.ndarray, np.ndarray] | None = None  # this epoch's, from scores()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # A second fit() call continues the numbering; a resumed fit() already starts at initial_epoch.
        self._epoch_offset = len(self.run.history) - self.initial_epoch
        self.initial_epoch = 0
        self._stop_watching()
        self._stop_requested = False
        self._steps_before = None
        self._watching.clear()
        self._watcher = threading.Thread(target=self._watch, name="fitstudio-batches", daemon=True)
        self._watcher.start()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._stop_watching()
        self.scalars.close()

    def _epochs(self) -> int | None:
        return (self.params or {}).get("epochs") or self.epochs_hint

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = self._epoch_offset + epoch + 1
        self._epoch_started = time.time()
        self._steps_before = self._steps()

    # No per-batch hook: a batch hook makes Keras convert every batch's logs in Python, a tenth of a
    # millisecond per step on a CPU (docs/benchmarks.md). A thread watches for interrupts and reports progress.

    def _steps(self) -> int | None:
        try:
            return int(self.model.optimizer.iterations)
        except (AttributeError, TypeError, ValueError):
            return None

    def _watch(self) -> None:
        last_event, last_steps = 0.0, None
        while not self._watching.wait(WATCH_EVERY_S):
            if not self._stop_requested and (control.interrupt_requested.is_set() or control.drain_requested.is_set()):
                self._stop_requested = True  # drain: the trainer then checkpoints and hands the session back
                self.run.interrupted = self.run.interrupted or control.interrupt_requested.is_set()
                self.model.stop_training = True
            now, before = time.monotonic(), self._steps_before
            if now - last_event < BATCH_EVENT_EVERY_S or before is None:
                continue  # progress only inside an epoch, at a bounded rate
            steps = self._steps()
            if steps is None or steps == last_steps or steps <= before:
                continue  # no batch finished since the last report (metrics at the epoch's end, say)
            last_event, last_steps = now, steps
            self.send(
                {
                    "type": "batch",
                    "epoch": self._epoch,
                    "epochs": self._epochs(),
                    "batch": max(0, steps - before),
                    "batches": (self.params or {}).get("steps"),
                }
            )

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watching.set()
            self._watcher.join()
            self._watcher = None

    def _cut_short(self) -> bool:
        """Whether this epoch ended because we stopped the training before its last step."""
        if not self._stop_requested:
            return False
        total, now, before = (self.params or {}).get("steps"), self._steps(), self._steps_before
        return not (total and now is not None and before is not None and now - before >= total)

    def scores(self, model: keras.Model) -> dict[str, float]:
        """Test and Train metrics of MODEL now."""
        out: dict[str, float] = {}
        for named, data in ((as_test_metric, self.validation), (as_train_metric, self.train_sample)):
            if data is None:
                continue
            y_true, output = data.outputs(model)
            if named is as_test_metric:
                self._validation_outputs = (y_true, output)
            if len(y_true) == 0:
                continue
            values = metrics.compute(self.prediction_type, y_true, data.original(output), self.custom_score)
            out.update({named(name): value for name, value in values.items()})
            if named is as_test_metric and self.compute_val_loss and data.encoded is not None:
                # The same number Keras's own validation pass would give, from the predictions we already have.
                loss = model.compute_loss(y=data.encoded, y_pred=keras.ops.convert_to_tensor(output), training=False)
                out["val_loss"] = float(np.asarray(loss))
        return out

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._cut_short():
            return  # an epoch cut short is not a completed epoch: it is neither reported nor kept
        logs = logs if logs is not None else {}
        self._validation_outputs = None
        logs.update(self.scores(self.model))
        entry = {k: float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v for k, v in logs.items()}
        duration = time.time() - self._epoch_started
        self.run.history.append({"epoch": self._epoch, **entry})
        self.scalars.write(self._epoch, scalar_logs(entry))
        value = entry.get(self.metric_key)
        if self._better(value):
            self.run.best_epoch = self._epoch
            self.run.best_value = value
            self.run.best_weights = [np.array(w, copy=True) for w in self.model.get_weights()]
            kept = self._validation_outputs
            small = kept is not None and sum(np.asarray(a).nbytes for a in kept) <= KEEP_OUTPUTS_BYTES
            self.run.best_outputs = kept if small else None
        self._validation_outputs = None  # not held through the next epoch unless kept
        self.send(
            {
                "type": "epoch",
                "epoch": self._epoch,
                "epochs": self._epochs(),
                "logs": entry,
                "time": round(duration, 4),
                "started_at": self._epoch_started,
            }
        )
        if self.on_epoch_done is not None:
            self.on_epoch_done(self._epoch)

    def _better(self, value: float | None) -> bool:
        if self.run.best_weights is None:
            return True
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        best = self.run.best_value
        if best is None or (isinstance(best, float) and math.isnan(best)):
            return True
        return value > best if self.greater else value < best
