"""Validation-set evaluation of the kept model, saved as evaluation.json next to model.keras.

Classification: the confusion matrix (true label × predicted label counts) and ROC curve points (binary: one
curve for the positive class; multiclass: one-vs-rest per class), at most MAX_ROC_POINTS points per curve.
Regression: up to MAX_PAIRS (actual, predicted) pairs, evenly spread over the validation rows.
Both add "charts" (core/evaluation_charts.py): decision, lift, calibration, density, per class, residuals.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "evaluation.json"
MAX_ROC_POINTS = 200
MAX_PAIRS = 1000


def _spread(n: int, k: int) -> Any:
    """At most K indices evenly spread over range(N), first and last included."""
    import numpy as np

    if n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def evaluate(prediction_type: str, y_true: Any, output: Any, class_labels: list[Any] | None) -> dict[str, Any]:
    """The evaluation document of a model's OUTPUT on the validation rows whose true values are Y_TRUE."""
    # numpy, scikit-learn and core.metrics (numpy) only when evaluating: the API and the worker import this
    # module to save and load evaluation.json, which needs none of them.
    import numpy as np
    from sklearn.metrics import auc, confusion_matrix, roc_curve

    from core.evaluation_charts import classification_charts, regression_charts
    from core.metrics import probabilities
    from core.ranking import as_indices, curve, roc_points

    output = np.asarray(output, dtype="float64")
    y_true = np.asarray(y_true)
    if prediction_type == "regression":
        predicted = output.reshape(len(y_true), -1)[:, 0]
        keep = _spread(len(y_true), MAX_PAIRS)
        return {
            "kind": "regression",
            "n_rows": int(len(y_true)),
            "actual": [float(v) for v in y_true[keep]],
            "predicted": [float(v) for v in predicted[keep]],
            "charts": regression_charts(y_true, predicted),  # error histogram, residuals (core/evaluation_charts.py)
        }
    proba = probabilities(output)
    del output  # 8 bytes a validation row, not held while the charts are drawn
    n_classes = proba.shape[1]
    labels = [_plain(v) for v in (class_labels or list(range(n_classes)))]
    y_idx = as_indices(y_true)
    matrix = confusion_matrix(y_idx, proba.argmax(axis=1), labels=list(range(n_classes)))
    curves = []
    for cls in [1] if n_classes == 2 else range(n_classes):
        positives = y_idx == cls
        if positives.all() or not positives.any():
            continue  # a curve needs both positives and negatives
        ranked = curve(positives, proba[:, cls])  # one sort, without sklearn's copies of the scores
        fpr, tpr = roc_points(ranked) if ranked is not None else roc_curve(positives, proba[:, cls])[:2]
        keep = _spread(len(fpr), MAX_ROC_POINTS)
        curves.append(
            {
                "label": labels[cls],
                "fpr": [round(float(v), 5) for v in fpr[keep]],
                "tpr": [round(float(v), 5) for v in tpr[keep]],
                "auc": float(auc(fpr, tpr)),
            }
        )
    return {
        "kind": "classification",
        "n_rows": int(len(y_idx)),
        "labels": labels,
        "confusion_matrix": matrix.astype(int).tolist(),
        "roc": curves,
        "charts": classification_charts(y_idx, proba, labels),  # decision, lift, calibration, per class …
    }


def of_model(
    prediction_type: str,
    validation: Any,
    model: Any,
    class_labels: list[Any] | None,
    outputs: tuple[Any, Any] | None = None,
) -> dict[str, Any] | None:
    """evaluate() on the validation EvalSet with MODEL, or on its OUTPUTS already computed (true values, raw output);
    None (logged) if it fails: it never fails a training."""
    try:
        # the service's split, or advanced mode's user sequence
        y_true, output = outputs if outputs is not None else validation.outputs(model)
        original = getattr(validation, "original", None)  # a regression target's scaling undone, logits activated
        return evaluate(prediction_type, y_true, original(output) if original else output, class_labels)
    except Exception as exc:  # the evaluation is a view; the training's result stands without it
        print(f"[fitstudio] evaluation of the kept model skipped: {type(exc).__name__}: {exc}", flush=True)
        return None


def save(folder: Path, doc: dict[str, Any]) -> None:
    """Write DOC as FOLDER/evaluation.json atomically."""
    tmp = folder / f".{FILE_NAME}.tmp"
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, folder / FILE_NAME)


def load_evaluation(model_file: Path) -> dict[str, Any] | None:
    """The evaluation saved next to MODEL_FILE, or None when there is none (older models) or it is unreadable."""
    path = Path(model_file).parent / FILE_NAME
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("unreadable evaluation file %s", path)
        return None
