"""The richer evaluation charts against scikit-learn on known data."""

from __future__ import annotations

import json

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support, precision_score, recall_score

from core import evaluation, evaluation_charts


def _binary(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1)
    return y, p1


def test_decision_table_matches_scikit_learn_at_every_threshold() -> None:
    y, p1 = _binary()
    table = evaluation_charts.decision_table(y == 1, p1)
    assert len(table["thresholds"]) == evaluation_charts.N_THRESHOLDS == 101
    for i in (0, 13, 37, 50, 64, 99, 100):
        t = table["thresholds"][i]
        pred = (p1 >= t).astype(int)
        assert t == round(i / 100, 2)
        assert table["precision"][i] == round(precision_score(y, pred, zero_division=0), 6)
        assert table["recall"][i] == round(recall_score(y, pred, zero_division=0), 6)
        assert table["f1"][i] == round(f1_score(y, pred, zero_division=0), 6)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert (table["tn"][i], table["fp"][i], table["fn"][i], table["tp"][i]) == (tn, fp, fn, tp)
    best = int(np.argmax(table["f1"]))
    assert table["f1_optimal_threshold"] == table["thresholds"][best]
    assert 0.2 < table["f1_optimal_threshold"] < 0.6  # positives sit above 0.35, negatives spread over [0, 0.65]


def test_lift_curve_is_the_cumulative_gain_of_the_top_rows() -> None:
    y, p1 = _binary(2000, seed=3)
    lift = evaluation_charts.lift_curve(y == 1, p1)
    order = np.argsort(-p1, kind="stable")
    top = order[:200]  # 10 % of the rows
    assert lift["fraction"][10] == 0.1
    assert lift["gain"][10] == round(y[top].sum() / y.sum(), 6)
    assert lift["lift"][10] == round(y[top].mean() / y.mean(), 6)
    assert lift["gain"][0] == 0 and lift["gain"][-1] == 1 and lift["lift"][-1] == 1
    assert lift["positive_rate"] == round(y.mean(), 6)


def test_calibration_matches_scikit_learn() -> None:
    y, p1 = _binary(4000, seed=5)
    p1[:7] = 1.0  # the top edge belongs to the last bin, as in scikit-learn
    cal = evaluation_charts.calibration(y == 1, p1)
    prob_true, prob_pred = calibration_curve(y, p1, n_bins=10)
    np.testing.assert_allclose(cal["fraction_positive"], prob_true, atol=1e-6)
    np.testing.assert_allclose(cal["mean_predicted"], prob_pred, atol=1e-6)
    assert sum(cal["count"]) == 4000


def test_density_per_class_has_area_one() -> None:
    y, p1 = _binary(1000, seed=7)
    dens = evaluation_charts.density(y, p1, ["no", "yes"])
    assert [c["label"] for c in dens["classes"]] == ["no", "yes"]
    assert [c["count"] for c in dens["classes"]] == [int((y == 0).sum()), int((y == 1).sum())]
    width = 1 / evaluation_charts.DENSITY_BINS
    for c in dens["classes"]:
        assert abs(sum(c["density"]) * width - 1) < 1e-4
    assert dens["classes"][0]["density"][-1] == 0  # no negative above 0.65: nothing in the last bin


def test_multiclass_per_class_scores_and_normalised_matrix() -> None:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 3, 600)
    proba = rng.dirichlet([1, 1, 1], 600)
    proba[np.arange(600), y] += 0.4  # better than chance
    proba /= proba.sum(axis=1, keepdims=True)
    doc = evaluation.evaluate("multiclass", y, proba, ["a", "b", "c", "d"])  # class d has no row
    charts = doc["charts"]
    p, r, f, s = precision_recall_fscore_support(y, proba.argmax(axis=1), labels=[0, 1, 2, 3], zero_division=0)
    assert [row["label"] for row in charts["per_class"]] == ["a", "b", "c", "d"]
    for row, pi, ri, fi, si in zip(charts["per_class"], p, r, f, s, strict=True):
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == (pi, ri, fi, si)
    norm = np.array(charts["confusion_matrix_normalized"])
    expected = confusion_matrix(y, proba.argmax(axis=1), labels=[0, 1, 2, 3], normalize="true")
    np.testing.assert_allclose(norm, np.nan_to_num(expected), atol=1e-6)
    assert norm[3].tolist() == [0, 0, 0, 0]
    assert "decision" not in charts  # thresholds are binary only
    json.dumps(doc)


def test_binary_evaluation_carries_every_chart() -> None:
    y, p1 = _binary(500, seed=2)
    doc = evaluation.evaluate("binary", y, p1.reshape(-1, 1), ["neg", "pos"])
    assert set(doc["charts"]) >= {"decision", "lift", "calibration", "density", "per_class"}
    json.dumps(doc)


def test_regression_error_histogram_and_at_most_2000_residuals() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(10, 3, 5000)
    predicted = y + rng.normal(0.5, 1, 5000)
    doc = evaluation.evaluate("regression", y, predicted.reshape(-1, 1), None)
    charts = doc["charts"]
    counts, edges = np.histogram(predicted - y, bins=evaluation_charts.ERROR_BINS)
    assert charts["error_histogram"]["counts"] == counts.tolist()
    np.testing.assert_allclose(charts["error_histogram"]["edges"], edges, atol=1e-5)
    res = charts["residuals"]
    assert len(res["predicted"]) == len(res["error"]) == evaluation_charts.MAX_RESIDUALS
    assert res["predicted"][0] == round(predicted[0], 6) and res["error"][-1] == round(predicted[-1] - y[-1], 6)
    assert abs(charts["error_mean"] - 0.5) < 0.1
    small = evaluation.evaluate("regression", y[:30], predicted[:30].reshape(-1, 1), None)["charts"]
    assert len(small["residuals"]["error"]) == 30
    json.dumps(doc)
