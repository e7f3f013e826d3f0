"""How the metrics are computed: true values and predictions prepared once (Outcome), and DSS's own formulas."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from core.ranking import Curve, as_indices, curve

# DSS's default cost matrix (gain per record of each outcome) and lift point.
COST_MATRIX = {"tp": 1.0, "tn": 0.0, "fp": -0.3, "fn": 0.0}
LIFT_POINT = 0.4
THRESHOLD = 0.5
# Rows per call of sklearn's log_loss: it makes several float64 (n, k) copies (clipped, normalised, one-hot), which
# took +313 MiB at 4 M validation rows of a binary model; a chunk's are a few MB.
LOG_LOSS_CHUNK_ROWS = 262_144


def sklearn_metrics() -> ModuleType:
    """sklearn.metrics, imported on first use: the API and the web UI read the catalogue without loading sklearn."""
    from sklearn import metrics

    return metrics


@dataclass(frozen=True)
class Outcome:
    """True values and a model's predictions, prepared once for all the metrics of a prediction type."""

    prediction_type: str
    y_true: np.ndarray  # floats (regression) or class indices
    y_pred: np.ndarray  # predicted values (regression) or predicted class indices
    proba: np.ndarray | None = None  # class probabilities (n, k), rows summing to 1
    onehot: np.ndarray | None = None  # multiclass: y_true one-hot (n, k)
    # What several metrics share (ranking curves, precision/recall/F1), computed by the first that needs it.
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def probabilities(self) -> np.ndarray:
        """The class probabilities; a regression has none (a catalogue error, so never turned into NaN)."""
        if self.proba is None:
            raise TypeError(f"a {self.prediction_type} outcome has no class probabilities")
        return self.proba

    @property
    def labels(self) -> list[int]:
        """The class indices 0 … k-1."""
        return list(range(self.probabilities.shape[1]))

    def averaged(self, which: int) -> float:
        """Precision (WHICH 0), recall (1) or F1 (2) of the positive class (binary), else its macro average over every
        class: sklearn's precision_recall_fscore_support, called once for the three (the same values as
        precision_score, recall_score and f1_score)."""
        if "prf" not in self._cache:
            # average="binary" is the default of precision_score and its siblings, not of this function.
            averaging: dict[str, Any] = (
                {"average": "binary"}
                if self.prediction_type == "binary"
                else {"labels": self.labels, "average": "macro"}
            )
            prfs = sklearn_metrics().precision_recall_fscore_support
            self._cache["prf"] = prfs(self.y_true, self.y_pred, zero_division=0, **averaging)
        return self._cache["prf"][which]

    def one_vs_rest(
        self, score: Callable[[np.ndarray, np.ndarray], float], fast: Callable[[Curve], float] | None = None
    ) -> float:
        """SCORE(is the class, its probability) for the positive class (binary), else macro over the classes present;
        FAST (core/ranking.py) computes the same from the class's ranking curve, sorted once for every metric."""

        def one(c: int, truth: np.ndarray) -> float:
            ranked = self.curve_of(c, truth) if fast is not None else None
            return fast(ranked) if fast is not None and ranked is not None else score(truth, proba[:, c])

        proba = self.probabilities
        if self.onehot is None:
            return one(1, self.y_true)
        # Classes absent from y_true (or the only one in it) have no defined score: left out of the mean.
        present = [c for c in self.labels if self.onehot[:, c].any() and not self.onehot[:, c].all()]
        return float(np.mean([one(c, self.onehot[:, c]) for c in present]))

    def curve_of(self, c: int, truth: np.ndarray) -> Curve | None:
        """Class C's ranking curve (TRUTH: its 0/1 column), kept for the next metric; None: sklearn decides."""
        if ("curve", c) not in self._cache:
            ordinary = bool(np.isin(truth, (0, 1)).all())  # else sklearn's own label checks apply
            self._cache["curve", c] = curve(truth == 1, self.probabilities[:, c]) if ordinary else None
        return self._cache["curve", c]


def regression_outcome(y_true: np.ndarray, y_pred: np.ndarray) -> Outcome:
    """Flat float true values and predictions."""
    return Outcome("regression", np.asarray(y_true, dtype=float).ravel(), np.asarray(y_pred, dtype=float).ravel())


def binary_outcome(y_true: np.ndarray, proba: np.ndarray) -> Outcome:
    """From class indices (0/1) and probabilities (n, 2): scores clipped to [0, 1], positive from THRESHOLD on."""
    y_true = as_indices(y_true)
    proba = np.asarray(proba, dtype=float)
    p1 = proba[:, 1]
    # A sigmoid's (1 - p, p), as metrics.probabilities makes it, is used as it is: clipping and stacking it again
    # would give the same bits in 24 more bytes a row (100 MB at 4 M validation rows).
    if not (bool(((p1 >= 0.0) & (p1 <= 1.0)).all()) and np.array_equal(proba[:, 0], 1 - p1)):
        p1 = np.clip(p1, 0.0, 1.0)
        proba = np.stack([1 - p1, p1], axis=1)
    return Outcome("binary", y_true, (p1 >= THRESHOLD).astype(np.int8), proba)


def multiclass_outcome(y_true: np.ndarray, proba: np.ndarray) -> Outcome:
    """From class indices and probabilities (n, k): the arg-max class, rows normalised to sum to 1."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    k = proba.shape[1]
    normed = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
    return Outcome("multiclass", y_true, proba.argmax(axis=1), normed, np.eye(k)[y_true])


def prepare(prediction_type: str, y_true: np.ndarray, predicted: np.ndarray) -> Outcome:
    """The Outcome of PREDICTION_TYPE from true values and PREDICTED values (regression) or probabilities."""
    make = {"regression": regression_outcome, "binary": binary_outcome, "multiclass": multiclass_outcome}
    return make[prediction_type](y_true, predicted)


def log_loss(outcome: Outcome) -> float:
    """sklearn's log_loss, summed a chunk of rows at a time and divided by the rows: the same mean of per-row losses
    (each row is clipped and normalised on its own), without its copies of every row at once."""
    y_true, proba, labels = outcome.y_true, outcome.probabilities, outcome.labels
    if len(y_true) == 0:
        raise ValueError("no rows")
    total = 0.0
    for start in range(0, len(y_true), LOG_LOSS_CHUNK_ROWS):
        stop = start + LOG_LOSS_CHUNK_ROWS
        total += sklearn_metrics().log_loss(y_true[start:stop], proba[start:stop], labels=labels, normalize=False)
    return total / len(y_true)


def cumulative_lift(y_true: np.ndarray, p1: np.ndarray, point: float = LIFT_POINT) -> float:
    """Positive rate among the top POINT fraction by score, over the overall positive rate."""
    y_true = np.asarray(y_true)  # 0/1 (class indices or floats): their means are exact sums either way
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


def rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared log error, on values clipped at 0 (a negative prediction counts as 0)."""
    return math.sqrt(np.mean((np.log1p(np.clip(y_pred, 0, None)) - np.log1p(np.clip(y_true, 0, None))) ** 2))
