"""Advanced mode's metrics on the validation sequence the training cell's build_sequences returned, as DSS does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import metrics, target_scaling
from worker.runtime.callbacks import EvalSet, forward
from worker.runtime.errors import say


@dataclass
class SequenceEvalSet:
    """The user's validation SEQUENCE read batch by batch: only the outputs and targets are kept, so memory grows
    with the rows times the output width, never with the inputs."""

    sequence: Any
    prediction_type: str
    scaling: dict[str, Any] | None = None
    activation: str | None = None
    encoded: None = None  # Keras computes val_loss from validation_data itself in advanced mode

    def original(self, output: np.ndarray) -> np.ndarray:
        """The model's OUTPUT on the target's own scale, logits made probabilities."""
        return metrics.activated(target_scaling.unscale(output, self.scaling), self.activation)

    def outputs(self, model: Any) -> tuple[np.ndarray, np.ndarray]:
        """(true values, raw output) of MODEL over every batch of the sequence."""
        call = forward(model)
        truths, outs = [], []
        for index in range(len(self.sequence)):
            item = self.sequence[index]
            x, y = item[0], item[1]
            try:
                out = call(x)
            except (TypeError, ValueError):  # inputs the compiled call does not take: Keras's own path
                out = model.predict_on_batch(x)
            outs.append(np.asarray(out))
            truths.append(np.asarray(y))
        if not outs:
            return np.zeros(0), np.zeros((0, 1))
        return self._true(np.concatenate(truths)), np.concatenate(outs)

    def _true(self, y: np.ndarray) -> np.ndarray:
        """Class indices (from one-hot, or 0/1 targets) or floats on the target's scale, from the encoded Y."""
        y = y.reshape(len(y), -1).astype("float64")
        if self.prediction_type == "regression":
            return target_scaling.unscale(y, self.scaling).reshape(len(y), -1)[:, 0]
        if y.shape[1] > 1:
            return np.argmax(y, axis=1)
        return (y[:, 0] > 0.5).astype(int) if self.prediction_type == "binary" else y[:, 0].astype(int)


def user_validation(sequence: Any, service: EvalSet, prediction_type: str) -> EvalSet | SequenceEvalSet:
    """What the Test metrics are computed on in advanced mode: the user's validation SEQUENCE when it can be
    indexed by batch, the service's own split (SERVICE) otherwise (said in the log)."""
    if sequence is not None and hasattr(sequence, "__len__") and hasattr(sequence, "__getitem__"):
        return SequenceEvalSet(sequence, prediction_type, service.scaling, service.activation)
    say(
        f"build_sequences returned a validation sequence of type {type(sequence).__name__}, which cannot be read "
        "batch by batch: the metrics are computed on the service's validation split"
    )
    return service
