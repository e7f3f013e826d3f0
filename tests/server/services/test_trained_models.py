"""What the model pages show of a trained model: its metrics table, score, frozen cells and loading code."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from server.services import saved_model_versions, trained_models


def model(metrics: dict[str, Any], metric: str = "ROC AUC", settings: dict[str, Any] | None = None) -> Any:
    session = SimpleNamespace(design={"settings": settings or {}})
    return SimpleNamespace(metrics=metrics, metric=metric, session=session, analysis_id="a1", ml_task_id="t1", id=1)


def test_the_metrics_table_pairs_test_and_train_and_keeps_the_other_logs() -> None:
    rows, other = trained_models.metrics_table({"Test AUC": 0.9, "Train AUC": 0.95, "Test MAE": 1.0, "loss": 0.3})
    assert rows == [{"name": "AUC", "test": 0.9, "train": 0.95}, {"name": "MAE", "test": 1.0, "train": None}]
    assert other == {"loss": 0.3}


def test_the_score_is_the_optimisation_metric_on_the_validation_split() -> None:
    assert trained_models.test_key("ROC AUC") == "Test ROC AUC"
    assert trained_models.score(model({"Test ROC AUC": 0.8, "Train ROC AUC": 0.9})) == 0.8
    assert trained_models.score(model({})) is None


def test_the_frozen_cells_are_those_the_design_ran() -> None:
    code = {"architecture": "A", "training": "T", "custom_score": "C"}
    assert trained_models.frozen_cells(model({}, settings={"code": code})) == [("architecture", "A")]
    advanced = {"code": code, "training": {"mode": "advanced"}, "metric": "Custom score"}
    assert [c for c, _ in trained_models.frozen_cells(model({}, settings=advanced))] == [
        "architecture",
        "training",
        "custom_score",
    ]


def test_the_loading_snippets_name_the_model() -> None:
    snippet = trained_models.load_snippet(model({}), 4)
    assert 'session_id="s4", analysis_id="a1", mltask_id="t1"' in snippet
    saved = saved_model_versions.load_snippet(SimpleNamespace(id=5), "v2")  # type: ignore[arg-type]
    assert 'get_keras_model_from_saved_model(saved_model_id=5, version_id="v2")' in saved
