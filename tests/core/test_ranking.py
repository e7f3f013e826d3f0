"""core/ranking.py: ROC AUC and average precision from one sort give sklearn's values bit for bit, and the metrics
fall back to sklearn where it decides (one outcome only, non-finite scores)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from core import metrics, ranking
from core.ranking import average_precision, curve, roc_auc, roc_points


def cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(0/1 truth, scores): continuous, heavily tied, float32, tiny, perfectly and inversely ranked."""
    rng = np.random.default_rng(7)
    out = []
    for n in (2, 3, 7, 50, 1000, 20000):
        y = rng.integers(0, 2, n)
        y[0], y[-1] = 0, 1  # both outcomes present
        out.append((y, rng.random(n)))
        out.append((y, np.round(rng.random(n), 1)))  # many ties
        out.append((y, (rng.random(n) + y * 0.3).astype(np.float32).astype(float)))
    y = np.array([0, 0, 0, 1, 1, 1])
    out += [(y, np.arange(6.0)), (y, -np.arange(6.0)), (y, np.full(6, 0.5))]
    return out


@pytest.mark.parametrize("chunk", [ranking.CHUNK, 1, 2, 3, 64])  # one chunk, and chunk boundaries everywhere
@pytest.mark.parametrize("i", range(len(cases())))
def test_the_same_bits_as_sklearn(i: int, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranking, "CHUNK", chunk)
    y, scores = cases()[i]
    c = curve(y == 1, scores)
    assert c is not None
    assert roc_auc(c) == skm.roc_auc_score(y, scores)
    assert average_precision(c) == skm.average_precision_score(y, scores)
    fpr, tpr = roc_points(c)
    expected_fpr, expected_tpr, _ = skm.roc_curve(y, scores)
    np.testing.assert_array_equal(fpr, expected_fpr)
    np.testing.assert_array_equal(tpr, expected_tpr)


def test_sklearn_decides_the_undefined_cases() -> None:
    assert curve(np.zeros(5, bool), np.linspace(0, 1, 5)) is None
    assert curve(np.ones(5, bool), np.linspace(0, 1, 5)) is None
    assert curve(np.array([True, False]), np.array([0.3, np.nan])) is None
    assert curve(np.zeros(0, bool), np.zeros(0)) is None
    one_class = metrics.binary(np.zeros(4, int), np.full((4, 2), 0.5))
    assert math.isnan(one_class["ROC AUC"])
    nan_scores = metrics.binary(np.array([0, 1, 0, 1]), np.array([[0.5, 0.5], [np.nan, np.nan]] * 2))
    assert math.isnan(nan_scores["ROC AUC"]) and math.isnan(nan_scores["Average Precision"])


def test_multiclass_one_vs_rest_as_sklearn_class_by_class() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 3000)
    y[y == 3] = 2  # class 3 absent: left out of the macro mean, as before
    proba = rng.dirichlet(np.ones(4), 3000)
    out = metrics.multiclass(y, proba)
    normed = proba / proba.sum(axis=1, keepdims=True)
    auc = [skm.roc_auc_score(y == c, normed[:, c]) for c in range(3)]
    ap = [skm.average_precision_score(y == c, normed[:, c]) for c in range(3)]
    assert out["ROC AUC"] == float(np.mean(auc))
    assert out["Average Precision"] == float(np.mean(ap))


@pytest.mark.parametrize("ptype", ["binary", "multiclass"])
def test_precision_recall_f1_from_one_call_as_each_sklearn_function(ptype: str) -> None:
    rng = np.random.default_rng(5)
    k = 2 if ptype == "binary" else 4
    y = rng.integers(0, k, 500)
    proba = rng.dirichlet(np.ones(k), 500)
    proba[:, k - 1] = 0.0  # never predicted: zero_division's 0 in the mean
    proba /= proba.sum(axis=1, keepdims=True)
    out = metrics.compute(ptype, y, proba)
    predicted = (proba[:, 1] >= 0.5).astype(int) if ptype == "binary" else proba.argmax(axis=1)
    kw = {} if ptype == "binary" else {"labels": list(range(k)), "average": "macro"}
    assert out["Precision"] == skm.precision_score(y, predicted, zero_division=0, **kw)
    assert out["Recall"] == skm.recall_score(y, predicted, zero_division=0, **kw)
    assert out["F1 Score"] == skm.f1_score(y, predicted, zero_division=0, **kw)
