"""ROC AUC and average precision of one class from a single sort, as sklearn computes them, without its checks.

sklearn's roc_auc_score and average_precision_score each validate their inputs and sort the scores again: for a
multiclass model on 20k validation rows, 5 classes × 2 metrics × (checks + sort) were about three quarters of the
metrics' time (docs/benchmarks.md). Here the scores are sorted once per class and both metrics read the same
curve, with the operations of sklearn 1.9 (`confusion_matrix_at_thresholds`, `roc_curve`, `auc`,
`precision_recall_curve`) in the same order, so the values are the same bits (tests/core/test_ranking.py).
Only ordinary inputs take this path (finite scores, both outcomes present); the callers give the rest to
sklearn, which says why it is undefined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def as_indices(values: object) -> np.ndarray:
    """VALUES (class indices) as an integer array, not copied when they are integers already: a streamed training's
    are one byte a row (preprocessing.class_indices), and an int64 copy was 8 bytes a validation row."""
    array = np.asarray(values)
    return array if array.dtype.kind in "iu" else array.astype(np.int64)


@dataclass(frozen=True)
class Curve:
    """True and false positives (float64 counts) at each distinct score, from the highest score down."""

    tps: np.ndarray
    fps: np.ndarray


def curve(is_positive: np.ndarray, scores: np.ndarray) -> Curve | None:
    """The ranking curve of IS_POSITIVE (booleans) by SCORES; None when sklearn must decide (a non-finite score,
    or only one outcome present: the metrics are then undefined or a warning's convention)."""
    scores = np.asarray(scores, dtype=float)
    positive = np.asarray(is_positive, dtype=bool)
    n = len(scores)
    if n == 0 or not positive.any() or positive.all() or not np.isfinite(scores).all():
        return None
    # Descending; the order within ties changes no count below. Each step keeps one temporary row-sized array at a
    # time (no negated copy, no float copy of the outcomes): the curve of 4 M validation rows is a training's
    # largest metric allocation (bench/streamed_memory.py).
    order = np.argsort(scores, kind="stable")[::-1]
    sorted_scores = scores[order]
    last_of_each = np.append(np.flatnonzero(sorted_scores[1:] != sorted_scores[:-1]), n - 1)
    del sorted_scores
    tps = np.cumsum(positive[order], dtype=np.float64)[last_of_each]
    return Curve(tps, 1 + last_of_each.astype(np.float64) - tps)


def roc_points(c: Curve) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's roc_curve (drop_intermediate=True): (false positive rates, true positive rates) from (0, 0), the
    collinear points dropped. The curve has one point per distinct score, so this costs nothing per row."""
    fps, tps = c.fps, c.tps
    if fps.shape[0] > 2:
        keep = np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]])
        fps, tps = fps[keep], tps[keep]
    tps, fps = np.concatenate([[0.0], tps]), np.concatenate([[0.0], fps])
    return fps / fps[-1], tps / tps[-1]


def roc_auc(c: Curve) -> float:
    """sklearn's roc_auc_score: the trapezoidal area under the ROC curve, its collinear points dropped first."""
    fpr, tpr = roc_points(c)
    # scipy.integrate.trapezoid(tpr, fpr), written out: scipy is not imported where the catalogue is read.
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(c: Curve) -> float:
    """sklearn's average_precision_score: the step integral of precision over recall."""
    ps = c.tps + c.fps
    precision = np.where(ps != 0, np.divide(c.tps, ps), 0.0)
    recall = c.tps / c.tps[-1]
    precision = np.concatenate((np.flip(precision), [1.0]))
    recall = np.concatenate((np.flip(recall), [0.0]))
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
