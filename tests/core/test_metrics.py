"""core/metrics.py and the catalogue: each metric by hand, lift and cost matrix gain, sklearn, keys, NaN, names."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from core import metrics
from core.catalog import (
    CATALOGUE,
    CUSTOM_SCORE,
    DEFAULT_METRIC,
    PREDICTION_TYPES,
    as_test_metric,
    as_train_metric,
    get_metric,
    greater_is_better,
    is_valid_metric,
    metric_names,
)
from core.metric_formulas import Outcome, binary_outcome, multiclass_outcome, regression_outcome

# The metric names of code-cells.md, per prediction type.
SPEC_KEYS = {
    "regression": {"EVS", "MAPE", "MAE", "MSE", "RMSE", "RMSLE", "R2 Score"},
    "binary": {
        "Accuracy",
        "Precision",
        "Recall",
        "F1 Score",
        "Cost Matrix Gain",
        "Log Loss",
        "Cumulative Lift",
        "ROC AUC",
        "Average Precision",
    },
    "multiclass": {"Accuracy", "Precision", "Recall", "F1 Score", "Log Loss", "ROC AUC", "Average Precision"},
}

# ----------------------------------------------------------------------------- cumulative lift (hand computed)


def test_cumulative_lift_by_hand() -> None:
    # 10 rows, scores already in decreasing order; 3 positives -> base rate 3/10 = 0.3.
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
    p = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    # Top 40% = 4 rows (0.95, 0.9, 0.8, 0.7) -> labels 1,0,1,0 -> rate 2/4 = 0.5; lift = 0.5 / 0.3 = 5/3.
    assert metrics.cumulative_lift(y, p) == pytest.approx(5 / 3)


def test_cumulative_lift_uses_the_scores_not_the_row_order() -> None:
    # Same 10 rows shuffled: the lift depends on the ranking by score only.
    y = np.array([0, 0, 1, 0, 1, 0, 0, 1, 0, 0])
    p = np.array([0.3, 0.6, 0.95, 0.1, 0.8, 0.4, 0.7, 0.5, 0.2, 0.9])
    # By score: 0.95(1) 0.9(0) 0.8(1) 0.7(0) | ... -> top 4 hold 2 positives; base 3/10 -> (2/4)/(3/10) = 5/3.
    assert metrics.cumulative_lift(y, p) == pytest.approx(5 / 3)


def test_cumulative_lift_perfect_ranking() -> None:
    # 10 rows, 2 positives ranked first: base 2/10 = 0.2; top 4 hold 2 -> 2/4 = 0.5; lift 0.5/0.2 = 2.5.
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.linspace(1.0, 0.1, 10)
    assert metrics.cumulative_lift(y, p) == pytest.approx(2.5)


def test_cumulative_lift_rounds_the_top_fraction_up() -> None:
    # 5 rows: 40% of 5 = 2 rows exactly; 7 rows: 40% of 7 = 2.8 -> 3 rows.
    y5 = np.array([1, 0, 0, 1, 0])
    p5 = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    # top 2: labels 1,0 -> 1/2; base 2/5 -> (1/2)/(2/5) = 1.25
    assert metrics.cumulative_lift(y5, p5) == pytest.approx(1.25)
    y7 = np.array([1, 0, 1, 0, 0, 0, 1])
    p7 = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    # top 3: labels 1,0,1 -> 2/3; base 3/7 -> (2/3)/(3/7) = 14/9
    assert metrics.cumulative_lift(y7, p7) == pytest.approx(14 / 9)


def test_cumulative_lift_other_point() -> None:
    # 10 rows, 3 positives at ranks 1, 3, 6. Top 10% = 1 row -> 1/1; lift = 1 / 0.3 = 10/3.
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
    p = np.linspace(1.0, 0.1, 10)
    assert metrics.cumulative_lift(y, p, point=0.1) == pytest.approx(10 / 3)
    # Top 100% = everything -> lift 1.
    assert metrics.cumulative_lift(y, p, point=1.0) == pytest.approx(1.0)


def test_cumulative_lift_undefined_without_positives() -> None:
    assert math.isnan(metrics.cumulative_lift(np.zeros(5), np.linspace(0, 1, 5)))
    assert math.isnan(metrics.cumulative_lift(np.array([]), np.array([])))


# ----------------------------------------------------------------------------- cost matrix gain (hand computed)


def test_cost_matrix_gain_by_hand() -> None:
    y_true = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    y_pred = np.array([1, 1, 0, 1, 1, 0, 0, 0])
    # tp: rows 0,1 = 2; fn: rows 2,7 = 2; fp: rows 3,4 = 2; tn: rows 5,6 = 2.
    # gain = (2*1 + 2*0 + 2*(-0.3) + 2*0) / 8 = 1.4 / 8 = 0.175
    assert metrics.cost_matrix_gain(y_true, y_pred) == pytest.approx(0.175)


def test_cost_matrix_gain_with_custom_gains() -> None:
    y_true = np.array([1, 0, 1, 0, 1])
    y_pred = np.array([1, 1, 0, 0, 1])
    # tp: rows 0,4 = 2; fp: row 1 = 1; fn: row 2 = 1; tn: row 3 = 1.
    # gain = (2*3 + 1*1 + 1*(-2) + 1*(-5)) / 5 = (6 + 1 - 2 - 5) / 5 = 0
    gains = {"tp": 3.0, "tn": 1.0, "fp": -2.0, "fn": -5.0}
    assert metrics.cost_matrix_gain(y_true, y_pred, gains) == pytest.approx(0.0)
    # Only true positives: every row gains tp=1 with the default matrix -> 1.0
    assert metrics.cost_matrix_gain(np.ones(4), np.ones(4)) == pytest.approx(1.0)
    # Only false positives: -0.3 each -> -0.3
    assert metrics.cost_matrix_gain(np.zeros(4), np.ones(4)) == pytest.approx(-0.3)


def test_cost_matrix_gain_empty_is_nan() -> None:
    assert math.isnan(metrics.cost_matrix_gain(np.array([]), np.array([])))


def test_binary_uses_the_half_threshold_for_cost_matrix_gain_and_the_scores_for_lift() -> None:
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
    p1 = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    proba = np.stack([1 - p1, p1], axis=1)
    out = metrics.binary(y, proba)
    # p >= 0.5 -> predicted positive: rows 0-5. tp: rows 0,2,5 = 3; fp: rows 1,3,4 = 3; tn: 4; fn: 0.
    # gain = (3*1 + 3*(-0.3)) / 10 = 2.1 / 10 = 0.21; accuracy = (3 + 4) / 10 = 0.7
    assert out["Cost Matrix Gain"] == pytest.approx(0.21)
    assert out["Accuracy"] == pytest.approx(0.7)
    assert out["Precision"] == pytest.approx(0.5)
    assert out["Recall"] == pytest.approx(1.0)
    assert out["Cumulative Lift"] == pytest.approx(5 / 3)


# ----------------------------------------------------------------------------- regression against numpy formulas


def test_regression_against_formulas() -> None:
    y = np.array([3.0, 0.5, 2.0, 7.0, 4.0, 10.0])
    yhat = np.array([2.5, 1.0, 2.0, 8.0, 3.0, 9.5])
    err = y - yhat
    out = metrics.regression(y, yhat)
    assert out["MAE"] == pytest.approx(np.mean(np.abs(err)))
    assert out["MSE"] == pytest.approx(np.mean(err**2))
    assert out["RMSE"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert out["MAPE"] == pytest.approx(np.mean(np.abs(err) / np.abs(y)))
    assert out["RMSLE"] == pytest.approx(np.sqrt(np.mean((np.log1p(yhat) - np.log1p(y)) ** 2)))
    assert out["R2 Score"] == pytest.approx(1 - np.sum(err**2) / np.sum((y - y.mean()) ** 2))
    assert out["EVS"] == pytest.approx(1 - np.var(err) / np.var(y))


def test_regression_accepts_column_vectors() -> None:
    y = np.array([1.0, 2.0, 3.0])
    yhat = np.array([[1.5], [2.0], [2.0]])
    assert metrics.regression(y[:, None], yhat)["MAE"] == pytest.approx((0.5 + 0 + 1) / 3)


def test_rmsle_clips_negative_values_at_zero() -> None:
    y = np.array([1.0, 2.0])
    yhat = np.array([-3.0, 2.0])
    # log1p(max(-3, 0)) = 0; errors: (0 - log 2), 0 -> sqrt(log(2)^2 / 2)
    assert metrics.regression(y, yhat)["RMSLE"] == pytest.approx(math.sqrt(math.log(2) ** 2 / 2))


def test_perfect_regression() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    out = metrics.regression(y, y.copy())
    assert out["MAE"] == 0 and out["MSE"] == 0 and out["RMSE"] == 0 and out["RMSLE"] == 0
    assert out["R2 Score"] == pytest.approx(1.0)
    assert out["EVS"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- classification against sklearn


def _binary_case(n: int = 200, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)  # informative but imperfect scores
    return y, p1


def test_binary_against_sklearn() -> None:
    y, p1 = _binary_case()
    out = metrics.binary(y, np.stack([1 - p1, p1], axis=1))
    pred = (p1 >= 0.5).astype(int)
    assert out["Accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["Precision"] == pytest.approx(skm.precision_score(y, pred))
    assert out["Recall"] == pytest.approx(skm.recall_score(y, pred))
    assert out["F1 Score"] == pytest.approx(skm.f1_score(y, pred))
    assert out["Log Loss"] == pytest.approx(skm.log_loss(y, p1))
    assert out["ROC AUC"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert out["Average Precision"] == pytest.approx(skm.average_precision_score(y, p1))
    assert 0.5 < out["ROC AUC"] < 1.0  # the case is neither trivial nor random


def test_binary_from_a_sigmoid_output_equals_softmax_output() -> None:
    y, p1 = _binary_case(50, seed=7)
    from_sigmoid = metrics.compute("binary", y, p1[:, None])
    from_softmax = metrics.compute("binary", y, np.stack([1 - p1, p1], axis=1))
    assert from_sigmoid == pytest.approx(from_softmax)


def _multiclass_case(n: int = 300, k: int = 4, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def test_multiclass_against_sklearn() -> None:
    y, proba = _multiclass_case()
    out = metrics.multiclass(y, proba)
    pred = proba.argmax(axis=1)
    onehot = np.eye(proba.shape[1])[y]
    assert out["Accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["Precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert out["Recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert out["F1 Score"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert out["Log Loss"] == pytest.approx(skm.log_loss(y, proba))
    assert out["ROC AUC"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert out["Average Precision"] == pytest.approx(skm.average_precision_score(onehot, proba, average="macro"))
    assert 0.5 < out["ROC AUC"] < 1.0


def test_multiclass_normalises_unnormalised_outputs_for_log_loss() -> None:
    y, proba = _multiclass_case(60, k=3, seed=11)
    assert metrics.multiclass(y, proba * 3.0)["Log Loss"] == pytest.approx(skm.log_loss(y, proba))


# ----------------------------------------------------------------------------- keys, custom score, NaN


@pytest.mark.parametrize("prediction_type", ["regression", "binary", "multiclass"])
def test_all_keys_present(prediction_type: str) -> None:
    rng = np.random.default_rng(0)
    if prediction_type == "regression":
        y, output = rng.random(30), rng.random((30, 1))
    elif prediction_type == "binary":
        y, p1 = _binary_case(30)
        output = np.stack([1 - p1, p1], axis=1)
    else:
        y, output = _multiclass_case(30, k=3)
    out = metrics.compute(prediction_type, y, output)
    assert set(out) == SPEC_KEYS[prediction_type]
    assert list(out) == metric_names(prediction_type)  # the catalogue offers exactly what is computed
    assert all(isinstance(v, float) and math.isfinite(v) for v in out.values()), out

    with_custom = metrics.compute(prediction_type, y, output, custom=lambda t, p: 0.25)
    assert set(with_custom) == SPEC_KEYS[prediction_type] | {"Custom score"}
    assert with_custom["Custom score"] == 0.25


def test_custom_score_receives_true_values_and_probabilities() -> None:
    seen: dict[str, np.ndarray] = {}

    def score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        seen["y_true"], seen["y_pred"] = y_true, y_pred
        return float(np.mean(y_pred.argmax(axis=1) == y_true))

    y = np.array([0, 1, 1, 0])
    output = np.array([[0.9], [0.8], [0.2], [0.1]])  # 1-wide sigmoid
    out = metrics.compute("binary", y, output, custom=score)
    # predicted classes 1, 1, 0, 0 vs 0, 1, 1, 0 -> 2/4 right
    assert out["Custom score"] == pytest.approx(0.5)
    assert seen["y_pred"].shape == (4, 2)
    np.testing.assert_array_equal(seen["y_true"], y)


def test_custom_score_for_regression_receives_flat_predictions() -> None:
    out = metrics.compute(
        "regression", np.array([1.0, 2.0]), np.array([[1.5], [2.5]]), custom=lambda t, p: float(np.sum(p - t))
    )
    assert out["Custom score"] == pytest.approx(1.0)


def test_roc_auc_with_one_class_is_nan_not_an_error() -> None:
    y = np.ones(6, dtype=int)
    p1 = np.linspace(0.1, 0.9, 6)
    out = metrics.binary(y, np.stack([1 - p1, p1], axis=1))
    assert math.isnan(out["ROC AUC"])
    # p1 = 0.1, 0.26, 0.42, 0.58, 0.74, 0.9: the last three are >= 0.5 -> 3 of 6 right
    assert out["Accuracy"] == pytest.approx(3 / 6)


def test_lift_with_no_positive_is_nan() -> None:
    y = np.zeros(6, dtype=int)
    p1 = np.linspace(0.1, 0.9, 6)
    out = metrics.binary(y, np.stack([1 - p1, p1], axis=1))
    assert math.isnan(out["Cumulative Lift"])
    assert math.isnan(out["ROC AUC"])


def test_multiclass_with_one_class_present_has_nan_auc() -> None:
    y = np.array([2, 2, 2])
    proba = np.array([[0.2, 0.2, 0.6], [0.1, 0.1, 0.8], [0.5, 0.2, 0.3]])
    out = metrics.multiclass(y, proba)
    assert math.isnan(out["ROC AUC"])
    assert math.isnan(out["Average Precision"])
    assert out["Accuracy"] == pytest.approx(2 / 3)


def test_multiclass_auc_over_the_classes_present() -> None:
    # Class 3 never occurs in y_true: the AUC is the mean over classes 0-2 (sklearn with labels restricted).
    y, proba = _multiclass_case(120, k=4, seed=2)
    keep = y != 3
    y, proba = y[keep], proba[keep]
    out = metrics.multiclass(y, proba)
    normed = proba / proba.sum(axis=1, keepdims=True)
    expected = np.mean([skm.roc_auc_score(y == c, normed[:, c]) for c in range(3)])
    assert out["ROC AUC"] == pytest.approx(expected)


def test_r2_with_one_sample_is_nan() -> None:
    assert math.isnan(metrics.regression(np.array([2.0]), np.array([1.0]))["R2 Score"])


@pytest.mark.parametrize("prediction_type", ["regression", "binary", "multiclass"])
def test_empty_inputs_give_nan_everywhere(prediction_type: str) -> None:
    width = {"regression": 1, "binary": 2, "multiclass": 3}[prediction_type]
    out = metrics.compute(prediction_type, np.array([], dtype=int), np.zeros((0, width)))
    assert set(out) == SPEC_KEYS[prediction_type]
    assert all(math.isnan(v) for v in out.values()), out


def test_probabilities() -> None:
    np.testing.assert_allclose(metrics.probabilities(np.array([[0.2], [0.9]])), [[0.8, 0.2], [0.1, 0.9]])
    np.testing.assert_allclose(metrics.probabilities(np.array([0.2, 0.9])), [[0.8, 0.2], [0.1, 0.9]])
    three = np.array([[0.2, 0.3, 0.5]])
    np.testing.assert_allclose(metrics.probabilities(three), three)


# ----------------------------------------------------------------------------- the catalogue: each metric by hand

# Regression: y = 1, 2, 3, 4 and predictions 2, 2, 3, 2 -> errors y - ŷ = -1, 0, 0, 2.
REG = regression_outcome(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 2.0]))
# Binary: y = 1, 0, 1, 0 with p1 = 0.9, 0.6, 0.4, 0.2 -> predicted 1, 1, 0, 0: one each of tp, fp, fn, tn.
BIN = binary_outcome(np.array([1, 0, 1, 0]), np.array([[0.1, 0.9], [0.4, 0.6], [0.6, 0.4], [0.8, 0.2]]))
# Multiclass: y = 0, 1, 2, 2 -> predicted (arg max) 0, 1, 1, 2.
MULTI = multiclass_outcome(
    np.array([0, 1, 2, 2]),
    np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]]),
)

BY_HAND = [
    # mean |e| = 3/4; mean e² = 5/4; mean |e| / |y| = (1 + 2/4) / 4
    ("MAE", REG, 0.75, False),
    ("MSE", REG, 1.25, False),
    ("RMSE", REG, math.sqrt(1.25), False),
    ("MAPE", REG, 0.375, False),
    # log1p(ŷ) - log1p(y) = log(3/2), 0, 0, log(3/5)
    ("RMSLE", REG, math.sqrt((math.log(1.5) ** 2 + math.log(0.6) ** 2) / 4), False),
    # 1 - Σe² / Σ(y - 2.5)² = 1 - 5/5; 1 - var(e) / var(y) = 1 - 1.1875 / 1.25
    ("R2 Score", REG, 0.0, True),
    ("EVS", REG, 0.05, True),
    ("Accuracy", BIN, 0.5, True),
    ("Precision", BIN, 0.5, True),
    ("Recall", BIN, 0.5, True),
    ("F1 Score", BIN, 0.5, True),
    # (1·1 + 1·(-0.3)) / 4
    ("Cost Matrix Gain", BIN, 0.175, True),
    # -mean log p(true class) = -mean log(0.9, 0.4, 0.4, 0.8)
    ("Log Loss", BIN, -np.mean(np.log([0.9, 0.4, 0.4, 0.8])), False),
    # top ceil(40% of 4) = 2 rows (0.9: 1, 0.6: 0) -> 1/2, over the base rate 1/2
    ("Cumulative Lift", BIN, 1.0, True),
    # positive/negative pairs ranked right: 0.9 > 0.6, 0.9 > 0.2, 0.4 > 0.2 (not 0.4 > 0.6) -> 3/4
    ("ROC AUC", BIN, 0.75, True),
    # ranks 0.9 (+), 0.6 (-), 0.4 (+): 1/2 · 1 + 1/2 · 2/3
    ("Average Precision", BIN, 5 / 6, True),
    ("Accuracy", MULTI, 0.75, True),
    # per class precision 1, 1/2, 1; recall 1, 1, 1/2; F1 1, 2/3, 2/3 (macro means)
    ("Precision", MULTI, 2.5 / 3, True),
    ("Recall", MULTI, 2.5 / 3, True),
    ("F1 Score", MULTI, 7 / 9, True),
    ("Log Loss", MULTI, -np.mean(np.log([0.7, 0.5, 0.3, 0.8])), False),
    # one-vs-rest AUC per class: 1, 2/3, (1 + 0.5 + 1 + 1) / 4 (class 2's 0.3 ties a negative)
    ("ROC AUC", MULTI, (1 + 2 / 3 + 0.875) / 3, True),
    # per class: 1, 1/2 (a negative ranks first), 1/2 · 1 + 1/2 · 2/3 (tied 0.3s as one threshold)
    ("Average Precision", MULTI, (1 + 0.5 + 5 / 6) / 3, True),
]


@pytest.mark.parametrize(
    ("name", "outcome", "expected", "greater"), BY_HAND, ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_metric_by_hand(name: str, outcome: Outcome, expected: float, greater: bool) -> None:
    metric = get_metric(name, outcome.prediction_type)
    assert metric.name == name
    assert metric.greater_is_better is greater
    assert greater_is_better(outcome.prediction_type, name) is greater
    assert metric.compute(outcome) == pytest.approx(expected)
    assert metrics.values(outcome)[name] == pytest.approx(expected)


def test_every_catalogued_metric_is_checked_by_hand_for_each_of_its_types() -> None:
    checked = {(name, outcome.prediction_type) for name, outcome, _, _ in BY_HAND}
    catalogued = {(m.name, t) for m in CATALOGUE for t in m.prediction_types}
    assert checked == catalogued


def test_the_catalogue_holds_the_spec_names_in_display_order() -> None:
    for prediction_type in PREDICTION_TYPES:
        assert set(metric_names(prediction_type)) == SPEC_KEYS[prediction_type]
    assert metric_names("regression") == ["EVS", "MAPE", "MAE", "MSE", "RMSE", "RMSLE", "R2 Score"]
    assert metric_names("multiclass") == [
        "Accuracy",
        "Precision",
        "Recall",
        "F1 Score",
        "Log Loss",
        "ROC AUC",
        "Average Precision",
    ]
    assert len({m.name for m in CATALOGUE}) == len(CATALOGUE)  # one Metric per name
    assert all(DEFAULT_METRIC[t] in metric_names(t) for t in PREDICTION_TYPES)


def test_metrics_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_metric("MAE").greater_is_better = True  # type: ignore[misc]


def test_name_lookups() -> None:
    assert get_metric("ROC AUC").prediction_types == {"binary", "multiclass"}
    assert get_metric("Cumulative Lift", "binary").name == "Cumulative Lift"
    with pytest.raises(KeyError):
        get_metric("Cumulative Lift", "multiclass")  # a binary-only metric
    with pytest.raises(KeyError):
        get_metric("roc auc")  # names are exact (DSS's)
    with pytest.raises(KeyError):
        greater_is_better("regression", "Accuracy")
    assert is_valid_metric("binary", "Cost Matrix Gain")
    assert not is_valid_metric("multiclass", "Cost Matrix Gain")
    assert not is_valid_metric("regression", "ROC AUC")
    assert not is_valid_metric("clustering", "ROC AUC")
    assert is_valid_metric("regression", CUSTOM_SCORE)


def test_the_custom_score_direction_comes_from_its_cell() -> None:
    assert greater_is_better("binary", CUSTOM_SCORE, custom_greater=False) is False
    assert greater_is_better("binary", CUSTOM_SCORE, custom_greater=True) is True
    with pytest.raises(ValueError):
        greater_is_better("binary", CUSTOM_SCORE)


def test_test_and_train_metric_names() -> None:
    assert as_test_metric("ROC AUC") == "Test ROC AUC"
    assert as_train_metric("R2 Score") == "Train R2 Score"
    assert as_test_metric(CUSTOM_SCORE) == "Test Custom score"


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_log_loss_a_chunk_at_a_time_is_sklearns(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import metric_formulas

    rng = np.random.default_rng(11)
    n, k = 1_001, 2 if kind == "binary" else 4
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)  # every class present
    proba = rng.dirichlet(np.ones(k), n)
    proba[5] = np.eye(k)[(y[5] + 1) % k]  # a certain, wrong row: clipped, not infinite
    expected = skm.log_loss(y, proba, labels=list(range(k)))
    monkeypatch.setattr(metric_formulas, "LOG_LOSS_CHUNK_ROWS", 64)  # 16 chunks, the last one short
    calls: list[int] = []
    original = skm.log_loss

    def counted(y_true: np.ndarray, *args: object, **kwargs: object) -> float:
        calls.append(len(y_true))
        return original(y_true, *args, **kwargs)

    monkeypatch.setattr(skm, "log_loss", counted)
    out = metrics.binary(y, proba) if kind == "binary" else metrics.multiclass(y, proba)
    assert calls == [64] * 15 + [n - 15 * 64]
    assert out["Log Loss"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("width", [1, 2, 4])
def test_one_byte_class_indices_give_the_same_metrics_and_evaluation_as_int64(width: int) -> None:
    from core import evaluation

    rng = np.random.default_rng(7)
    n_classes = max(2, width)
    y8 = rng.integers(0, n_classes, 5000).astype(np.int8)
    output = rng.random((5000, width)).astype(np.float32)
    kind = "binary" if n_classes == 2 else "multiclass"
    seen: list[np.dtype] = []

    def custom(y_true: np.ndarray, _predicted: np.ndarray) -> float:
        seen.append(y_true.dtype)
        return float(y_true.sum())

    narrow, wide = (metrics.compute(kind, y, output, custom) for y in (y8, y8.astype(np.int64)))
    assert narrow == wide and narrow[CUSTOM_SCORE] == float(y8.astype(np.int64).sum())
    assert seen == [np.dtype(np.int64)] * 2  # the custom score's cell gets int64 indices, as before
    labels = [f"k{i}" for i in range(n_classes)]
    wide_doc = evaluation.evaluate(kind, y8.astype(np.int64), output, labels)
    assert evaluation.evaluate(kind, y8, output, labels) == wide_doc
