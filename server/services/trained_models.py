"""Trained models: listing, details, their metrics and inputs, where their file lives and who deployed them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import evaluation, target_scaling
from core.catalog import CUSTOM_SCORE, TEST_PREFIX, TRAIN_PREFIX, as_test_metric, as_train_metric
from server.errors import ApiError
from server.models import Analysis, Dataset, MLTask, SavedModelVersion, TrainedModel
from server.services import datasets, model_files, model_provenance, row_numbers
from server.settings import Settings

# The logs a training writes per metric: "Test <metric>" on the validation split, "Train <metric>" on a train sample.
TEST, TRAIN = TEST_PREFIX, TRAIN_PREFIX
# The frozen code cells a model page shows: the architecture always, the others when the design used them.
CELLS = ("architecture", "training", "custom_score")


def test_key(metric: str) -> str:
    """The log key of METRIC on the validation split (what the optimisation metric is compared on)."""
    return as_test_metric(metric)


def ids_and_dates_of_task(db: Session, task: MLTask) -> list[tuple[str, datetime]]:
    """(id, created_at) of TASK's trained models, oldest first (the key of a page of ids_of_task)."""
    query = select(TrainedModel.id, TrainedModel.created_at).where(TrainedModel.ml_task_id == task.id)
    return [(i, at) for i, at in db.execute(query.order_by(TrainedModel.created_at))]


def ids_of_task(db: Session, task: MLTask) -> list[str]:
    """The ids of TASK's trained models, oldest session first."""
    return list(
        db.scalars(select(TrainedModel.id).where(TrainedModel.ml_task_id == task.id).order_by(TrainedModel.created_at))
    )


def file_path(settings: Settings, model: TrainedModel) -> Path:
    """The model's .keras file, checked against its SHA-256: 404 file_missing, 409 model_file_corrupt."""
    return model_files.verified(settings.artifacts / model.path, f"trained model {model.id}")


def location(settings: Settings, model: TrainedModel) -> dict[str, Any]:
    """{location, uri, download_url} of the model's file."""
    path = (settings.artifacts / model.path).resolve()
    return {
        "location": str(path),
        "uri": path.as_uri(),
        "download_url": f"{settings.public_url.rstrip('/')}/api/v1/trained-models/{model.id}/download",
    }


def as_dict(settings: Settings, model: TrainedModel) -> dict[str, Any]:
    """The API shape of a trained model's details."""
    loc = location(settings, model)
    return {
        "id": model.id,
        "session_id": model.session_id,
        "analysis_id": model.analysis_id,
        "ml_task_id": model.ml_task_id,
        "prediction_type": model.prediction_type,
        "metric": model.metric,
        "best_epoch": model.best_epoch,
        "metrics": model.metrics,
        "history": model.history,
        "input_shapes": model.input_shapes,
        "n_classes": model.n_classes,
        "class_labels": model.class_labels,
        "lineage": model.lineage or [],
        "location": loc["location"],
        "download_url": loc["download_url"],
        "created_at": model.created_at,
        "evaluation": evaluation_of(settings, model),
        "target_scaling": target_scaling.of(model.preprocessing),
        "preprocessing_report": preprocessing_report(model),
        # the rows the preprocessing was fitted on: every train row, or a streamed training's bounded sample (issue 17)
        "preprocessing_fitted_on": (model.preprocessing or {}).get("fitted_on"),
        # a model trained on logits: the activation its predictions get (issue 22)
        "output_activation": ((model.preprocessing or {}).get("target") or {}).get("output_activation"),
        **model_provenance.of(model),  # library versions and seeds (issue 20)
    }


def preprocessing_report(model: TrainedModel) -> dict[str, dict[str, Any]]:
    """Per input column: missing, unparseable and imputed values ({} for a model trained before the report)."""
    return (model.preprocessing or {}).get("report") or {}


def evaluation_of(settings: Settings, model: TrainedModel) -> dict[str, Any] | None:
    """The evaluation stored next to the model's file (None when there is none)."""
    return evaluation.load_evaluation(settings.artifacts / model.path)


def metrics_of_task(db: Session, task: MLTask) -> dict[str, dict[str, Any]]:
    """The metrics of each of TASK's trained models, by model id."""
    query = select(TrainedModel.id, TrainedModel.metrics).where(TrainedModel.ml_task_id == task.id)
    return {model_id: metrics for model_id, metrics in db.execute(query).all()}


def by_ids(db: Session, ids: list[str]) -> dict[str, TrainedModel]:
    """The trained models of IDS that still exist, by id."""
    return {m.id: m for m in db.scalars(select(TrainedModel).where(TrainedModel.id.in_(ids)))}


def score(model: TrainedModel) -> Any:
    """The model's value of its optimisation metric on the validation split (None when not logged)."""
    return (model.metrics or {}).get(test_key(model.metric))


def metrics_table(metrics: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows {name, test, train} of the service's metrics, and the other logs (loss, val_loss, …)."""
    names: list[str] = []
    for key in metrics:
        for prefix in (TEST, TRAIN):
            if key.startswith(prefix) and key[len(prefix) :] not in names:
                names.append(key[len(prefix) :])
    rows = [
        {"name": n, "test": metrics.get(as_test_metric(n)), "train": metrics.get(as_train_metric(n))} for n in names
    ]
    other = {k: v for k, v in metrics.items() if not k.startswith((TEST, TRAIN))}
    return rows, other


def frozen_cells(model: TrainedModel) -> list[tuple[str, str]]:
    """(cell, code) of the code cells the model's frozen design ran, in CELLS' order."""
    frozen = (model.session.design or {}).get("settings", {})
    used = {
        "architecture": True,
        "training": frozen.get("training", {}).get("mode") == "advanced",
        "custom_score": frozen.get("metric") == CUSTOM_SCORE,
    }
    return [(cell, frozen.get("code", {}).get(cell, "")) for cell in CELLS if used[cell]]


def deployments(db: Session, model: TrainedModel) -> list[SavedModelVersion]:
    """The saved model versions MODEL was deployed as."""
    return list(db.scalars(select(SavedModelVersion).where(SavedModelVersion.trained_model_id == model.id)))


def load_snippet(model: TrainedModel, number: int) -> str:
    """The code that loads MODEL (of session number NUMBER) from another training's code cell."""
    return (
        "from fitstudio.deep_learning.load_model import get_keras_model_from_trained_model\n\n"
        f'model = get_keras_model_from_trained_model(session_id="s{number}", '
        f'analysis_id="{model.analysis_id}", mltask_id="{model.ml_task_id}")'
    )


def input_fields(db: Session, settings: Settings, model: TrainedModel) -> list[dict[str, Any]]:
    """{name, kind, value} of the columns the model scores, valued from its dataset's first row when it still exists
    (numbers written with the file's decimal separator)."""
    prep = model.preprocessing or {}
    fields = [{"name": m["column"], "kind": m["kind"]} for m in prep.get("main", [])]
    fields += [{"name": c, "kind": "categorical"} for c in prep.get("index", {})]
    fields += [{"name": c, "kind": "text"} for c in prep.get("text", {})]
    fields += [{"name": c, "kind": "image"} for c in prep.get("image", {})]
    dataset = dataset_of(db, model)
    first = _first_row(settings, dataset) if dataset is not None else {}
    decimal, _ = row_numbers.number_format(dataset.source if dataset is not None else None)
    for field in fields:
        value = first.get(field["name"])
        field["value"] = "" if value is None else value
        if field["kind"] == "numeric" and isinstance(value, float) and decimal != ".":
            field["value"] = str(value).replace(".", decimal)  # as the file wrote it, and as the form sends it back
    return fields


def _first_row(settings: Settings, dataset: Dataset) -> dict[str, Any]:
    """The first row of DATASET, by column ({} when it is unreadable)."""
    try:
        preview = datasets.preview(settings, dataset, 1)
    except (OSError, ApiError):
        return {}
    return dict(zip(preview["columns"], preview["rows"][0], strict=False)) if preview["rows"] else {}


def dataset_of(db: Session, model: TrainedModel) -> Dataset | None:
    """The dataset MODEL was trained on (None when it is gone)."""
    return db.scalar(
        select(Dataset).join(Analysis, Analysis.dataset_id == Dataset.id).where(Analysis.id == model.analysis_id)
    )
