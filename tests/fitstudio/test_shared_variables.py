"""fitstudio/deep_learning/shared_variables.py: get_variable."""

from __future__ import annotations

import pytest

from fitstudio.deep_learning import _context
from fitstudio.deep_learning.shared_variables import KNOWN, get_variable


def test_known_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        _context, "variables", {"DKU_MODEL_METRIC": "Test ROC AUC", "DKU_MODEL_METRIC_GREATER_IS_BETTER": True}
    )
    assert get_variable("DKU_MODEL_METRIC") == "Test ROC AUC"
    assert get_variable("DKU_MODEL_METRIC_GREATER_IS_BETTER") is True


def test_unknown_name_is_a_key_error_naming_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        _context, "variables", {"DKU_MODEL_METRIC": "Test MAE", "DKU_MODEL_METRIC_GREATER_IS_BETTER": False}
    )
    with pytest.raises(KeyError) as err:
        get_variable("DKU_MODEL_METRICS")
    message = err.value.args[0]
    assert "'DKU_MODEL_METRICS'" in message
    assert "DKU_MODEL_METRIC," in message
    assert "DKU_MODEL_METRIC_GREATER_IS_BETTER" in message


def test_outside_a_training_the_documented_names_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_context, "variables", {})
    with pytest.raises(KeyError) as err:
        get_variable("DKU_MODEL_METRIC")
    message = err.value.args[0]
    for name in KNOWN:
        assert name in message
    # code-cells.md's list
    assert set(KNOWN) == {"DKU_MODEL_METRIC", "DKU_MODEL_METRIC_GREATER_IS_BETTER", "TENSORBOARD_LOGDIR"}
