"""The metrics over a large validation split copy no more than they must (issue 17): a sigmoid's probabilities
are used as they are, and the values are those of the copying path, to the bit."""

from __future__ import annotations

import numpy as np

from core import metrics
from core.metric_formulas import Outcome, binary_outcome
from core.ranking import curve


def _case(n: int = 5_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.35 * y + rng.random(n) * 0.65, 0.0, 1.0)
    p1[:50] = np.round(p1[:50], 1)  # ties, which the ranking curve must count together
    return y, p1


def test_a_sigmoids_probabilities_are_used_without_a_copy_and_give_the_same_bits() -> None:
    y, p1 = _case()
    stacked = metrics.probabilities(p1[:, None])
    reused = binary_outcome(y, stacked)
    assert np.shares_memory(reused.probabilities, stacked)
    # The same probabilities as another array that is not a sigmoid's exact complement: clipped and stacked anew.
    other = stacked.copy()
    other[0, 0] = np.nextafter(other[0, 0], 2.0)
    copied = binary_outcome(y, other)
    assert not np.shares_memory(copied.probabilities, other)
    np.testing.assert_array_equal(copied.probabilities[1:], reused.probabilities[1:])
    clipped = np.clip(p1, 0.0, 1.0)  # what binary_outcome made before: every metric is the same
    before = Outcome("binary", y, (clipped >= 0.5).astype(int), np.stack([1 - clipped, clipped], axis=1))
    assert metrics.values(reused) == metrics.values(before)


def test_out_of_range_scores_are_still_clipped() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[1.2, -0.2], [0.3, 0.7], [-0.5, 1.5], [0.6, 0.4]])
    outcome = binary_outcome(y, proba)
    np.testing.assert_array_equal(outcome.probabilities[:, 1], [0.0, 0.7, 1.0, 0.4])
    np.testing.assert_array_equal(outcome.y_pred, [0, 1, 1, 0])


def test_the_ranking_curve_counts_ties_as_sklearn_does() -> None:
    from sklearn.metrics import roc_curve

    y, p1 = _case()
    c = curve(y == 1, p1)
    assert c is not None
    fpr, tpr, _ = roc_curve(y, p1, drop_intermediate=False)
    np.testing.assert_array_equal(c.tps / c.tps[-1], tpr[1:])
    np.testing.assert_array_equal(c.fps / c.fps[-1], fpr[1:])


def test_the_roc_points_are_sklearns_and_the_evaluation_draws_them() -> None:
    from sklearn.metrics import auc, roc_curve

    from core import evaluation
    from core.ranking import roc_points

    y, p1 = _case()
    c = curve(y == 1, p1)
    assert c is not None
    fpr, tpr = roc_points(c)
    expected_fpr, expected_tpr, _ = roc_curve(y, p1)  # drop_intermediate=True, as the evaluation draws it
    np.testing.assert_array_equal(fpr, expected_fpr)
    np.testing.assert_array_equal(tpr, expected_tpr)
    (drawn,) = evaluation.evaluate("binary", y, p1[:, None], ["no", "yes"])["roc"]
    keep = evaluation._spread(len(expected_fpr), evaluation.MAX_ROC_POINTS)
    assert drawn["fpr"] == [round(float(v), 5) for v in expected_fpr[keep]]
    assert drawn["tpr"] == [round(float(v), 5) for v in expected_tpr[keep]]
    assert drawn["auc"] == float(auc(expected_fpr, expected_tpr))
