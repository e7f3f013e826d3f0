"""DSS "Advanced topics" examples for deep learning, pasted into advanced-mode cells, on a real worker; plus the
standard mode's early stopping and the best epoch it keeps."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

# DSS's "Early stopping" example as its docs print it: Keras 2's fit_generator, and the sequences function named
# build_sequence (singular).
EARLY_STOPPING_TRAINING = """
from dataiku.doctor.deep_learning.shared_variables import get_variable
from keras.callbacks import EarlyStopping


def build_sequence(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    batch_size = 32
    train_sequence = build_train_sequence_with_batch_size(batch_size)
    validation_sequence = build_validation_sequence_with_batch_size(batch_size)
    return train_sequence, validation_sequence


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    epochs = 6
    metric_to_monitor = get_variable("DKU_MODEL_METRIC")
    greater_is_better = get_variable("DKU_MODEL_METRIC_GREATER_IS_BETTER")
    early_stopping_callback = EarlyStopping(monitor=metric_to_monitor,
                                            mode="max" if greater_is_better else "min",
                                            min_delta=0,
                                            patience=1)
    base_callbacks.append(early_stopping_callback)
    model.fit_generator(train_sequence,
                        epochs=epochs,
                        callbacks=base_callbacks,
                        validation_data=validation_sequence)
"""

CUSTOM_SCORE = '''
import numpy as np

GREATER_IS_BETTER = True


def score(y_true, y_pred):
    """Accuracy from the predicted probabilities."""
    return float(np.mean(np.argmax(y_pred, axis=1) == np.asarray(y_true)))
'''


@pytest.fixture(scope="module")
def sessions(runtime: Runtime) -> dict[str, tuple[dict[str, Any], int]]:
    """Every training of this module submitted at once (the worker runs two at a time): name -> (task, session)."""
    from server.services.bootstrap import demo_bytes

    ds = runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())
    patches: dict[str, dict[str, Any]] = {
        "early_stopping": {"training": {"mode": "advanced"}, "code": {"training": EARLY_STOPPING_TRAINING}},
        "custom_score": {"metric": "Custom score", "training": {"epochs": 2}, "code": {"custom_score": CUSTOM_SCORE}},
        "standard_es": {"training": {"epochs": 30, "early_stopping": {"enabled": True, "patience": 1}}},
    }
    out = {}
    for name, patch in patches.items():
        task = runtime.task(ds, "diagnosis", patch=patch)
        out[name] = (task, runtime.train(task["id"])["id"])
    return out


def succeeded(runtime: Runtime, session_id: int) -> dict[str, Any]:
    final = runtime.wait(session_id)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    return final


def test_dss_early_stopping_example_runs_unchanged(runtime: Runtime, sessions: dict[str, Any]) -> None:
    task, session_id = sessions["early_stopping"]
    assert task["settings"]["training"]["mode"] == "advanced"
    final = succeeded(runtime, session_id)
    history = final["history"]
    assert 1 <= len(history) <= 6
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    for entry in history:
        assert "Test ROC AUC" in entry, entry  # the key EarlyStopping monitors (DKU_MODEL_METRIC)
    log = runtime.api.get(f"/api/v1/sessions/{session_id}/log").text
    assert "not available" not in log  # Keras warns so when the monitored metric is missing


def test_singular_build_sequence_is_accepted(runtime: Runtime, sessions: dict[str, Any]) -> None:
    # The early stopping example above defines build_sequence (singular) and no build_sequences.
    task, session_id = sessions["early_stopping"]
    training = task["settings"]["code"]["training"]
    assert "def build_sequence(" in training and "def build_sequences(" not in training
    r = runtime.api.post(f"/api/v1/ml-tasks/{task['id']}/validate")
    assert r.json() == {"ok": True, "errors": [], "warnings": []}, r.text
    final = succeeded(runtime, session_id)
    assert final["history"] and final["trained_model_id"]


def test_custom_score_cell_is_the_metric(runtime: Runtime, sessions: dict[str, Any]) -> None:
    task, session_id = sessions["custom_score"]
    assert task["settings"]["metric"] == "Custom score"
    final = succeeded(runtime, session_id)
    assert len(final["history"]) == 2
    for entry in final["history"]:
        assert 0.0 <= entry["Test Custom score"] <= 1.0, entry
        assert 0.0 <= entry["Train Custom score"] <= 1.0, entry
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["metric"] == "Custom score"
    # The score is an accuracy computed from the probabilities: it agrees with the service's own.
    best = next(h for h in final["history"] if h["epoch"] == details["best_epoch"])
    assert details["metrics"]["Test Custom score"] == pytest.approx(best["Test Custom score"])
    assert best["Test Custom score"] == pytest.approx(best["Test Accuracy"], abs=1e-6)
    assert best["Test Custom score"] == max(h["Test Custom score"] for h in final["history"])


def test_standard_early_stopping_keeps_the_best_epoch(runtime: Runtime, sessions: dict[str, Any]) -> None:
    _task, session_id = sessions["standard_es"]
    final = succeeded(runtime, session_id)
    history = final["history"]
    assert 1 <= len(history) <= 30
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    best = max(history, key=lambda h: h["Test ROC AUC"])  # the first of equal values: later ties do not win
    assert details["best_epoch"] == best["epoch"], [(h["epoch"], h["Test ROC AUC"]) for h in history]
    assert details["metrics"]["Test ROC AUC"] == pytest.approx(best["Test ROC AUC"])
    if len(history) < 30:
        # patience 1: Keras stopped at the first epoch that did not improve, so the best is the one before it.
        assert details["best_epoch"] == len(history) - 1, [(h["epoch"], h["Test ROC AUC"]) for h in history]
