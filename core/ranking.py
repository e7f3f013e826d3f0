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

CHUNK = 1 << 18  # points of a curve whose temporaries are made at once (2 MB of float64 each)


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
    collinear points dropped. The curve has one point per distinct score: the temporaries are made CHUNK points at
    a time (elementwise, so the same bits), which at 4 M points saves about 40 MB of a float64 copy each."""
    fps, tps = c.fps, c.tps
    if fps.shape[0] > 2:
        keep = _not_collinear(fps, tps)
        fps, tps = fps[keep], tps[keep]
    return _from_zero_over_last(fps), _from_zero_over_last(tps)


def _not_collinear(fps: np.ndarray, tps: np.ndarray) -> np.ndarray:
    """The points to keep: the ends, and each point where either count's second difference is not zero."""
    n = len(fps)
    keep = np.empty(n, dtype=bool)
    keep[0] = keep[-1] = True
    for start in range(0, n - 2, CHUNK):
        stop = min(start + CHUNK, n - 2)
        window = slice(start, stop + 2)
        keep[start + 1 : stop + 1] = np.logical_or(np.diff(fps[window], 2), np.diff(tps[window], 2))
    return keep


def _from_zero_over_last(counts: np.ndarray) -> np.ndarray:
    """[0, *COUNTS] divided by its last value, in one array."""
    rates = np.empty(len(counts) + 1)
    rates[0] = 0.0
    rates[1:] = counts
    return np.divide(rates, rates[-1], out=rates)


def roc_auc(c: Curve) -> float:
    """sklearn's roc_auc_score: the trapezoidal area under the ROC curve, its collinear points dropped first."""
    fpr, tpr = roc_points(c)
    # scipy.integrate.trapezoid(tpr, fpr), written out: scipy is not imported where the catalogue is read. The
    # terms are made a chunk at a time and summed as one array, as numpy sums the unchunked expression.
    terms = np.empty(len(fpr) - 1)
    for start in range(0, len(terms), CHUNK):
        stop = min(start + CHUNK, len(terms))
        now, after = slice(start, stop), slice(start + 1, stop + 1)
        terms[now] = (fpr[after] - fpr[now]) * (tpr[after] + tpr[now]) / 2.0
    return float(np.sum(terms))


def average_precision(c: Curve) -> float:
    """sklearn's average_precision_score: the step integral of precision over recall, from the lowest score up
    (precision 1 at recall 0 closing it), its terms made a chunk at a time as roc_auc's are."""
    tps, fps = c.tps[::-1], c.fps[::-1]  # views: from the lowest score up
    last, n = c.tps[-1], len(tps)
    terms = np.empty(n)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        recall = tps[start : stop + 1] / last  # one more point: the next one's recall
        if stop == n:
            recall = np.append(recall, 0.0)
        ps = tps[start:stop] + fps[start:stop]
        precision = np.where(ps != 0, np.divide(tps[start:stop], ps), 0.0)
        terms[start:stop] = (recall[1:] - recall[:-1]) * precision
    return float(max(0.0, -np.sum(terms)))
