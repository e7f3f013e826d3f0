"""The evaluation charts beyond the confusion matrix and ROC curve, computed once at the end of a training.

Binary: a decision table (precision, recall, F1 and the confusion counts at N_THRESHOLDS thresholds 0, 0.01, …, 1;
a row is positive when its probability is at least the threshold), the cumulative gains / lift curve, the
calibration curve and the density of predicted probabilities per actual class. Multiclass: per-class precision,
recall, F1 and support, and the confusion matrix normalised by actual class. Regression: the histogram of the errors
(predicted − actual) and up to MAX_RESIDUALS (predicted, error) points.
"""

from __future__ import annotations

from typing import Any

N_THRESHOLDS = 101
LIFT_POINTS = 101
CALIBRATION_BINS = 10
DENSITY_BINS = 50
ERROR_BINS = 40
MAX_RESIDUALS = 2000
DEFAULT_THRESHOLD = 0.5


def _r(values: Any, digits: int = 6) -> list[float]:
    """Plain floats rounded for a compact JSON document."""
    return [round(float(v), digits) for v in values]


def decision_table(y_pos: Any, p1: Any) -> dict[str, Any]:
    """Counts and precision, recall and F1 of "positive when p1 >= t" at N_THRESHOLDS evenly spread thresholds."""
    import numpy as np

    y_pos = np.asarray(y_pos, dtype=bool)
    p1 = np.asarray(p1, dtype="float64")
    thresholds = np.linspace(0, 1, N_THRESHOLDS)
    # Rows at or above each threshold, by binary search in the sorted probabilities: O(n log n), no n × 101 matrix.
    pos, neg = np.sort(p1[y_pos]), np.sort(p1[~y_pos])
    tp = len(pos) - np.searchsorted(pos, thresholds, side="left")
    fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
    fn = len(pos) - tp
    tn = len(neg) - fp
    with np.errstate(invalid="ignore", divide="ignore"):  # no predicted positive: precision 0, as scikit-learn's
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))  # the lowest threshold of the best F1
    return {
        "thresholds": _r(thresholds, 2),
        "tp": tp.astype(int).tolist(),
        "fp": fp.astype(int).tolist(),
        "tn": tn.astype(int).tolist(),
        "fn": fn.astype(int).tolist(),
        "precision": _r(precision),
        "recall": _r(recall),
        "f1": _r(f1),
        "f1_optimal_threshold": round(float(thresholds[best]), 2),
    }


def lift_curve(y_pos: Any, p1: Any) -> dict[str, Any]:
    """Cumulative gains: the share of positives among the top fraction of rows by p1, and lift = gain / fraction."""
    import numpy as np

    y_pos = np.asarray(y_pos, dtype=bool)
    order = np.argsort(-np.asarray(p1, dtype="float64"), kind="stable")
    captured = np.concatenate([[0], np.cumsum(y_pos[order])])  # positives among the top k rows, k = 0..n
    n, positives = len(y_pos), max(int(y_pos.sum()), 1)
    fractions = np.linspace(0, 1, LIFT_POINTS)
    top = np.round(fractions * n).astype(int)
    gain = captured[top] / positives
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = np.where(top > 0, gain / np.maximum(fractions, 1e-12), np.nan)
    lift[0] = lift[1] if len(lift) > 1 else 1.0  # the first point has no rows: the lift of the smallest top share
    return {
        "fraction": _r(fractions, 2),
        "gain": _r(gain),
        "lift": _r(lift),
        "positive_rate": round(float(y_pos.mean()) if n else 0.0, 6),
    }


def calibration(y_pos: Any, p1: Any) -> dict[str, Any]:
    """Per non-empty bin of p1 (CALIBRATION_BINS equal-width): the mean predicted probability and the positive rate."""
    import numpy as np

    p1 = np.asarray(p1, dtype="float64")
    y_pos = np.asarray(y_pos, dtype=bool)
    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    which = np.searchsorted(edges[1:-1], p1)  # the same bins as sklearn.calibration.calibration_curve
    counts = np.bincount(which, minlength=CALIBRATION_BINS)
    sums = np.bincount(which, weights=p1, minlength=CALIBRATION_BINS)
    hits = np.bincount(which, weights=y_pos, minlength=CALIBRATION_BINS)
    keep = counts > 0
    return {
        "mean_predicted": _r(sums[keep] / counts[keep]),
        "fraction_positive": _r(hits[keep] / counts[keep]),
        "count": counts[keep].astype(int).tolist(),
    }


def density(y_idx: Any, p1: Any, labels: list[Any]) -> dict[str, Any]:
    """Histogram densities (area 1) of p1 over [0, 1] in DENSITY_BINS bins, one per actual class with rows."""
    import numpy as np

    y_idx = np.asarray(y_idx)
    p1 = np.asarray(p1, dtype="float64")
    edges = np.linspace(0, 1, DENSITY_BINS + 1)
    curves = []
    for cls, label in enumerate(labels):
        mine = p1[y_idx == cls]
        if len(mine):
            values, _ = np.histogram(mine, bins=edges, density=True)
            curves.append({"label": label, "density": _r(values), "count": int(len(mine))})
    return {"centers": _r((edges[:-1] + edges[1:]) / 2, 3), "classes": curves}


def per_class(y_idx: Any, predicted: Any, labels: list[Any]) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, and the confusion matrix normalised by actual class (rows sum 1)."""
    import numpy as np
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    classes = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(y_idx, predicted, labels=classes, zero_division=0)
    counts = confusion_matrix(y_idx, predicted, labels=classes).astype("float64")
    totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)  # no rows: a row of zeros
    rows = [
        {"label": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]
    return {"per_class": rows, "confusion_matrix_normalized": [_r(row) for row in normalised]}


def classification_charts(y_idx: Any, proba: Any, labels: list[Any]) -> dict[str, Any]:
    """The charts of a classifier's validation probabilities PROBA (n, k) for true class indices Y_IDX."""
    import numpy as np

    from core.ranking import as_indices

    y_idx = as_indices(y_idx)
    proba = np.asarray(proba, dtype="float64")
    charts = per_class(y_idx, proba.argmax(axis=1), labels)
    if proba.shape[1] == 2:
        y_pos, p1 = y_idx == 1, proba[:, 1]
        charts["decision"] = decision_table(y_pos, p1)
        charts["lift"] = lift_curve(y_pos, p1)
        charts["calibration"] = calibration(y_pos, p1)
        charts["density"] = density(y_idx, p1, labels)
    return charts


def regression_charts(y_true: Any, predicted: Any) -> dict[str, Any]:
    """The histogram of errors (predicted − actual) and up to MAX_RESIDUALS (predicted, error) points, evenly spread."""
    import numpy as np

    y_true = np.asarray(y_true, dtype="float64")
    predicted = np.asarray(predicted, dtype="float64")
    errors = predicted - y_true
    finite = np.isfinite(errors)
    counts, edges = np.histogram(errors[finite], bins=ERROR_BINS) if finite.any() else (np.zeros(0), np.zeros(1))
    keep = np.unique(np.linspace(0, len(errors) - 1, min(len(errors), MAX_RESIDUALS)).round().astype(int))
    keep = keep[finite[keep]] if len(errors) else keep
    return {
        "error_histogram": {"edges": _r(edges), "counts": counts.astype(int).tolist()},
        "residuals": {"predicted": _r(predicted[keep]), "error": _r(errors[keep])},
        "error_mean": float(errors[finite].mean()) if finite.any() else None,
        "error_std": float(errors[finite].std()) if finite.any() else None,
    }
