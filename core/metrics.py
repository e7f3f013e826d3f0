"""The service's metrics per prediction type (code-cells.md), from true values and predicted probabilities."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics as skm

# DSS's default cost matrix (gain per record of each outcome) and lift point.
COST_MATRIX = {"tp": 1.0, "tn": 0.0, "fp": -0.3, "fn": 0.0}
LIFT_POINT = 0.4
THRESHOLD = 0.5


def cumulative_lift(y_true: np.ndarray, p1: np.ndarray, point: float = LIFT_POINT) -> float:
    """Positive rate among the top POINT fraction by score, over the overall positive rate."""
    y_true = np.asarray(y_true, dtype=float)
    n = len(y_true)
    base = y_true.mean() if n else 0.0
    if n == 0 or base == 0:
        return float("nan")
    k = max(1, math.ceil(point * n))
    top = np.argsort(-np.asarray(p1, dtype=float), kind="stable")[:k]
    return float(y_true[top].mean() / base)


def cost_matrix_gain(y_true: np.ndarray, y_pred: np.ndarray, gains: dict[str, float] = COST_MATRIX) -> float:
    """Average gain per record of the confusion matrix weighted by GAINS."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    n = len(y_true)
    if n == 0:
        return float("nan")
    tp = np.sum(y_true & y_pred)
    tn = np.sum(~y_true & ~y_pred)
    fp = np.sum(~y_true & y_pred)
    fn = np.sum(y_true & ~y_pred)
    return float((tp * gains["tp"] + tn * gains["tn"] + fp * gains["fp"] + fn * gains["fn"]) / n)


def _safe(fn: Callable[[], float]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(fn())
        except (ValueError, ZeroDivisionError, IndexError):
            return float("nan")
    return value


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """EVS, MAPE, MAE, MSE, RMSE, RMSLE (on values clipped at 0), R2 Score."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    mse = _safe(lambda: skm.mean_squared_error(y_true, y_pred))
    return {
        "EVS": _safe(lambda: skm.explained_variance_score(y_true, y_pred)),
        "MAPE": _safe(lambda: skm.mean_absolute_percentage_error(y_true, y_pred)),
        "MAE": _safe(lambda: skm.mean_absolute_error(y_true, y_pred)),
        "MSE": mse,
        "RMSE": math.sqrt(mse) if not math.isnan(mse) else mse,
        "RMSLE": _safe(
            lambda: math.sqrt(np.mean((np.log1p(np.clip(y_pred, 0, None)) - np.log1p(np.clip(y_true, 0, None))) ** 2))
        ),
        "R2 Score": _safe(lambda: skm.r2_score(y_true, y_pred)),
    }


def binary(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Binary metrics from class indices (0/1) and probabilities of shape (n, 2)."""
    y_true = np.asarray(y_true).astype(int)
    p1 = np.clip(np.asarray(proba, dtype=float)[:, 1], 0.0, 1.0)
    y_pred = (p1 >= THRESHOLD).astype(int)
    proba2 = np.stack([1 - p1, p1], axis=1)
    return {
        "Accuracy": _safe(lambda: skm.accuracy_score(y_true, y_pred)),
        "Precision": _safe(lambda: skm.precision_score(y_true, y_pred, zero_division=0)),
        "Recall": _safe(lambda: skm.recall_score(y_true, y_pred, zero_division=0)),
        "F1 Score": _safe(lambda: skm.f1_score(y_true, y_pred, zero_division=0)),
        "Cost Matrix Gain": _safe(lambda: cost_matrix_gain(y_true, y_pred)),
        "Log Loss": _safe(lambda: skm.log_loss(y_true, proba2, labels=[0, 1])),
        "Cumulative Lift": _safe(lambda: cumulative_lift(y_true, p1)),
        "ROC AUC": _safe(lambda: skm.roc_auc_score(y_true, p1)),
        "Average Precision": _safe(lambda: skm.average_precision_score(y_true, p1)),
    }


def multiclass(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Multiclass metrics (macro averages) from class indices and probabilities of shape (n, k)."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    k = proba.shape[1]
    labels = list(range(k))
    normed = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
    y_pred = proba.argmax(axis=1)
    onehot = np.eye(k)[y_true]
    present = [c for c in labels if onehot[:, c].any() and not onehot[:, c].all()]
    return {
        "Accuracy": _safe(lambda: skm.accuracy_score(y_true, y_pred)),
        "Precision": _safe(
            lambda: skm.precision_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "Recall": _safe(lambda: skm.recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "F1 Score": _safe(lambda: skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "Log Loss": _safe(lambda: skm.log_loss(y_true, normed, labels=labels)),
        # One-vs-rest, macro over the classes present in y_true (absent ones have no defined AUC).
        "ROC AUC": _safe(lambda: float(np.mean([skm.roc_auc_score(onehot[:, c], normed[:, c]) for c in present]))),
        "Average Precision": _safe(
            lambda: float(np.mean([skm.average_precision_score(onehot[:, c], normed[:, c]) for c in present]))
        ),
    }


def compute(
    prediction_type: str,
    y_true: np.ndarray,
    output: np.ndarray,
    custom: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> dict[str, Any]:
    """All metrics of PREDICTION_TYPE; OUTPUT is the model's raw output (n, width)."""
    output = np.asarray(output, dtype=float)
    if prediction_type == "regression":
        pred = output.reshape(len(output), -1)[:, 0] if output.size else np.zeros(0)
        values = regression(y_true, pred)
        custom_pred: np.ndarray = pred
    else:
        proba = probabilities(output)
        values = binary(y_true, proba) if prediction_type == "binary" else multiclass(y_true, proba)
        custom_pred = proba
    if custom is not None:
        values["Custom score"] = float(custom(np.asarray(y_true), custom_pred))
    return values


def probabilities(output: np.ndarray) -> np.ndarray:
    """Class probabilities (n, k) from a classifier's output; a 1-wide sigmoid becomes (n, 2)."""
    output = np.asarray(output, dtype=float)
    if output.ndim == 1 or output.shape[1] == 1:
        p1 = output.reshape(-1)
        return np.stack([1 - p1, p1], axis=1)
    return output
