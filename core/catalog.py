"""The metric catalogue per prediction type, and which direction is better (never guessed)."""

from __future__ import annotations

PREDICTION_TYPES = ("regression", "binary", "multiclass")

METRICS: dict[str, dict[str, bool]] = {
    "regression": {
        "EVS": True,
        "MAPE": False,
        "MAE": False,
        "MSE": False,
        "RMSE": False,
        "RMSLE": False,
        "R2 Score": True,
    },
    "binary": {
        "Accuracy": True,
        "Precision": True,
        "Recall": True,
        "F1 Score": True,
        "Cost Matrix Gain": True,
        "Log Loss": False,
        "Cumulative Lift": True,
        "ROC AUC": True,
        "Average Precision": True,
    },
    "multiclass": {
        "Accuracy": True,
        "Precision": True,
        "Recall": True,
        "F1 Score": True,
        "Log Loss": False,
        "ROC AUC": True,
        "Average Precision": True,
    },
}

CUSTOM_SCORE = "Custom score"
DEFAULT_METRIC = {"regression": "R2 Score", "binary": "ROC AUC", "multiclass": "ROC AUC"}


def metric_names(prediction_type: str) -> list[str]:
    """The metrics computed for PREDICTION_TYPE, in display order."""
    return list(METRICS[prediction_type])


def is_valid_metric(prediction_type: str, metric: str) -> bool:
    """True when METRIC can be the optimisation metric of PREDICTION_TYPE."""
    return metric == CUSTOM_SCORE or metric in METRICS.get(prediction_type, {})


def greater_is_better(prediction_type: str, metric: str, custom_greater: bool | None = None) -> bool:
    """The direction of METRIC; for the custom score it is the cell's GREATER_IS_BETTER."""
    if metric == CUSTOM_SCORE:
        if custom_greater is None:
            raise ValueError("the custom score's direction comes from GREATER_IS_BETTER in its cell")
        return custom_greater
    return METRICS[prediction_type][metric]
