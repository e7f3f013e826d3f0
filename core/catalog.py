"""The metric catalogue: one Metric per metric, with its DSS name, prediction types, direction and computation."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from core.metric_formulas import Outcome, cost_matrix_gain, cumulative_lift, log_loss, rmsle
from core.metric_formulas import sklearn_metrics as skm
from core.ranking import average_precision, roc_auc

PREDICTION_TYPES = ("regression", "binary", "multiclass")
REGRESSION = frozenset({"regression"})
BINARY = frozenset({"binary"})
CLASSIFICATION = frozenset({"binary", "multiclass"})

CUSTOM_SCORE = "Custom score"
DEFAULT_METRIC = {"regression": "R2 Score", "binary": "ROC AUC", "multiclass": "ROC AUC"}

# How a logged metric says which rows it was computed on: the validation split ("Test", as DSS) or the train sample.
TEST_PREFIX = "Test "
TRAIN_PREFIX = "Train "


@dataclass(frozen=True)
class Metric:
    """One metric: its DSS-compatible name, the prediction types it applies to, its direction and computation."""

    name: str
    prediction_types: frozenset[str]
    greater_is_better: bool
    compute: Callable[[Outcome], float]  # may raise or warn: the caller turns that into NaN


# In display order; each prediction type's metrics keep this order (the order of the metrics JSON).
CATALOGUE: tuple[Metric, ...] = (
    Metric("EVS", REGRESSION, True, lambda o: skm().explained_variance_score(o.y_true, o.y_pred)),
    Metric("MAPE", REGRESSION, False, lambda o: skm().mean_absolute_percentage_error(o.y_true, o.y_pred)),
    Metric("MAE", REGRESSION, False, lambda o: skm().mean_absolute_error(o.y_true, o.y_pred)),
    Metric("MSE", REGRESSION, False, lambda o: skm().mean_squared_error(o.y_true, o.y_pred)),
    Metric("RMSE", REGRESSION, False, lambda o: math.sqrt(skm().mean_squared_error(o.y_true, o.y_pred))),
    Metric("RMSLE", REGRESSION, False, lambda o: rmsle(o.y_true, o.y_pred)),
    Metric("R2 Score", REGRESSION, True, lambda o: skm().r2_score(o.y_true, o.y_pred)),
    Metric("Accuracy", CLASSIFICATION, True, lambda o: skm().accuracy_score(o.y_true, o.y_pred)),
    Metric("Precision", CLASSIFICATION, True, lambda o: o.averaged(0)),
    Metric("Recall", CLASSIFICATION, True, lambda o: o.averaged(1)),
    Metric("F1 Score", CLASSIFICATION, True, lambda o: o.averaged(2)),
    Metric("Cost Matrix Gain", BINARY, True, lambda o: cost_matrix_gain(o.y_true, o.y_pred)),
    Metric("Log Loss", CLASSIFICATION, False, log_loss),
    Metric("Cumulative Lift", BINARY, True, lambda o: cumulative_lift(o.y_true, o.probabilities[:, 1])),
    Metric("ROC AUC", CLASSIFICATION, True, lambda o: o.one_vs_rest(skm().roc_auc_score, roc_auc)),
    Metric(
        "Average Precision",
        CLASSIFICATION,
        True,
        lambda o: o.one_vs_rest(skm().average_precision_score, average_precision),
    ),
)

_BY_TYPE = {t: tuple(m for m in CATALOGUE if t in m.prediction_types) for t in PREDICTION_TYPES}
_BY_NAME = {m.name: m for m in CATALOGUE}


def get_metric(name: str, prediction_type: str | None = None) -> Metric:
    """The metric called NAME; KeyError when there is none (of PREDICTION_TYPE, when given)."""
    found = _BY_NAME[name]
    if prediction_type is not None and prediction_type not in found.prediction_types:
        raise KeyError(f"{name!r} is not a metric of {prediction_type!r}")
    return found


def metrics_of(prediction_type: str) -> tuple[Metric, ...]:
    """The metrics computed for PREDICTION_TYPE, in display order (KeyError for an unknown type)."""
    return _BY_TYPE[prediction_type]


def metric_names(prediction_type: str) -> list[str]:
    """The names of the metrics computed for PREDICTION_TYPE, in display order."""
    return [m.name for m in metrics_of(prediction_type)]


def is_valid_metric(prediction_type: str, metric: str) -> bool:
    """True when METRIC can be the optimisation metric of PREDICTION_TYPE."""
    if metric == CUSTOM_SCORE:
        return True
    return metric in _BY_NAME and prediction_type in _BY_NAME[metric].prediction_types


def greater_is_better(prediction_type: str, metric: str, custom_greater: bool | None = None) -> bool:
    """The direction of METRIC; for the custom score it is the cell's GREATER_IS_BETTER."""
    if metric == CUSTOM_SCORE:
        if custom_greater is None:
            raise ValueError("the custom score's direction comes from GREATER_IS_BETTER in its cell")
        return custom_greater
    return get_metric(metric, prediction_type).greater_is_better


def as_test_metric(name: str) -> str:
    """The key of metric NAME computed on the validation split ("Test ROC AUC"), as DSS names it."""
    return TEST_PREFIX + name


def as_train_metric(name: str) -> str:
    """The key of metric NAME computed on the train sample ("Train ROC AUC")."""
    return TRAIN_PREFIX + name
