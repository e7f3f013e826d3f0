"""The validation-set evaluation the trained model page draws: confusion matrix, ROC points, predicted-vs-actual."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from core import evaluation


def test_binary_confusion_matrix_and_one_roc_curve() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    p1 = np.clip(y * 0.6 + rng.random(5000) * 0.5, 0, 1)
    doc = evaluation.evaluate("binary", y, np.stack([1 - p1, p1], axis=1), ["benign", "malignant"])
    assert doc["kind"] == "classification" and doc["labels"] == ["benign", "malignant"] and doc["n_rows"] == 5000
    cm = np.array(doc["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == 5000 and cm[1].sum() == int(y.sum())
    assert len(doc["roc"]) == 1 and doc["roc"][0]["label"] == "malignant"
    curve = doc["roc"][0]
    assert len(curve["fpr"]) == len(curve["tpr"]) <= evaluation.MAX_ROC_POINTS
    assert curve["fpr"][0] == 0 and curve["fpr"][-1] == 1 and curve["tpr"][-1] == 1
    assert 0.5 < curve["auc"] <= 1
    json.dumps(doc)  # plain JSON


def test_sigmoid_output_and_multiclass_one_vs_rest() -> None:
    doc = evaluation.evaluate("binary", np.array([0, 1, 1, 0]), np.array([[0.1], [0.8], [0.6], [0.3]]), None)
    assert doc["labels"] == [0, 1] and doc["confusion_matrix"] == [[2, 0], [0, 2]] and doc["roc"][0]["auc"] == 1.0
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    proba = rng.dirichlet([1, 1, 1], 300)
    doc = evaluation.evaluate("multiclass", y, proba, ["a", "b", "c"])
    assert [c["label"] for c in doc["roc"]] == ["a", "b", "c"]
    assert np.array(doc["confusion_matrix"]).sum() == 300
    doc = evaluation.evaluate("multiclass", np.array([0, 0, 1]), np.eye(3)[[0, 0, 1]], ["a", "b", "c"])
    assert [c["label"] for c in doc["roc"]] == ["a", "b"]  # no row of class c: no curve for it


def test_regression_keeps_at_most_1000_pairs() -> None:
    y = np.arange(5000, dtype=float)
    doc = evaluation.evaluate("regression", y, (y * 2).reshape(-1, 1), None)
    assert doc["kind"] == "regression" and doc["n_rows"] == 5000
    assert len(doc["actual"]) == len(doc["predicted"]) == evaluation.MAX_PAIRS
    assert doc["actual"][0] == 0 and doc["actual"][-1] == 4999 and doc["predicted"][-1] == 9998


def test_of_model_never_fails_and_files_round_trip(tmp_path: Path) -> None:
    broken = SimpleNamespace(y_true=np.array([1.0]), predict=lambda model: 1 / 0)
    assert evaluation.of_model("regression", broken, None, None) is None
    model_file = tmp_path / "model.keras"
    assert evaluation.load_evaluation(model_file) is None
    evaluation.save(tmp_path, {"kind": "regression", "actual": [1], "predicted": [2], "n_rows": 1})
    assert evaluation.load_evaluation(model_file)["predicted"] == [2]
    (tmp_path / "evaluation.json").write_text("{not json")
    assert evaluation.load_evaluation(model_file) is None
