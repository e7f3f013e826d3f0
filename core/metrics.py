"""Every catalogued metric of a prediction type (code-cells.md) from true values and a model's raw output."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from core.catalog import CUSTOM_SCORE, metrics_of
from core.metric_formulas import (
    Outcome,
    binary_outcome,
    cost_matrix_gain,
    cumulative_lift,
    multiclass_outcome,
    prepare,
    regression_outcome,
)

# Kept here for the callers (tests, benchmarks) that compute DSS's own metrics alone.
__all__ = ["binary", "compute", "cost_matrix_gain", "cumulative_lift", "multiclass", "probabilities", "regression"]


def _safe(fn: Callable[[], float]) -> float:
    """FN's value, or NaN when it is undefined on these rows (one class only, no rows, …)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(fn())
        except (ValueError, ZeroDivisionError, IndexError):
            return float("nan")
    return value


def values(outcome: Outcome) -> dict[str, float]:
    """Each metric of OUTCOME's prediction type, in display order; NaN where one is undefined."""
    return {m.name: _safe(lambda m=m: m.compute(outcome)) for m in metrics_of(outcome.prediction_type)}


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """EVS, MAPE, MAE, MSE, RMSE, RMSLE (on values clipped at 0), R2 Score."""
    return values(regression_outcome(y_true, y_pred))


def binary(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Binary metrics from class indices (0/1) and probabilities of shape (n, 2)."""
    return values(binary_outcome(y_true, proba))


def multiclass(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Multiclass metrics (macro averages) from class indices and probabilities of shape (n, k)."""
    return values(multiclass_outcome(y_true, proba))


def compute(
    prediction_type: str,
    y_true: np.ndarray,
    output: np.ndarray,
    custom: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> dict[str, Any]:
    """All metrics of PREDICTION_TYPE; OUTPUT is the model's raw output (n, width)."""
    output = np.asarray(output, dtype=float)
    if prediction_type == "regression":
        predicted = output.reshape(len(output), -1)[:, 0] if output.size else np.zeros(0)
    else:
        predicted = probabilities(output)
    del output  # not held while the metrics run: 8 bytes a row
    result: dict[str, Any] = values(prepare(prediction_type, y_true, predicted))
    if custom is not None:
        # The cell scores the predictions as the model gave them: flat values, or probabilities unclipped.
        # Class indices as int64, as the cell has always had them (ours are one byte a row, which its sums overflow).
        true = np.asarray(y_true)
        result[CUSTOM_SCORE] = float(custom(true.astype(np.int64) if true.dtype.kind in "iu" else true, predicted))
    return result


def probabilities(output: np.ndarray) -> np.ndarray:
    """Class probabilities (n, k) from a classifier's output; a 1-wide sigmoid becomes (n, 2)."""
    output = np.asarray(output, dtype=float)
    if output.ndim == 1 or output.shape[1] == 1:
        p1 = output.reshape(-1)
        return np.stack([1 - p1, p1], axis=1)
    return output


# Stored in the fitted target (preprocessing["target"]) of a model whose output is logits: the activation that
# turns its output into probabilities, applied to the metrics during training and to /predict's answers.
OUTPUT_ACTIVATION = "output_activation"


def activated(output: np.ndarray, activation: str | None) -> np.ndarray:
    """OUTPUT with ACTIVATION applied: "sigmoid" (element-wise), "softmax" (over the last axis), or as it is."""
    if activation not in ("sigmoid", "softmax"):
        return output
    logits = np.asarray(output, dtype="float64")
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * logits))  # the logistic function without overflow for large |x|
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
