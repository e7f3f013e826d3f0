"""ML tasks: creation with generated defaults, and settings validation."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import preprocessing
from core.catalog import CUSTOM_SCORE, PREDICTION_TYPES, is_valid_metric, metric_names
from server.errors import invalid
from server.models import Analysis, Dataset, MLTask, TrainingSession, User
from server.schemas.settings import MLTaskSettings
from server.services import architecture_inputs, audit, code_check, datasets
from server.services.defaults import default_settings, gpu_worker_alive
from server.services.ids import short_id
from server.services.type_inference import check_prediction_type, infer_prediction_type
from server.settings import Settings


def create(
    db: Session,
    settings: Settings,
    user: User,
    analysis: Analysis,
    target: str,
    prediction_type: str | None,
    name: str | None,
) -> MLTask:
    """Create an ML task predicting TARGET, inferring the prediction type when not given."""
    dataset = analysis.dataset
    columns = {c["name"]: c for c in dataset.columns}
    if target not in columns:
        raise invalid(
            f"Target {target!r} is not a column of dataset {dataset.name!r}; pick one of: "
            + ", ".join(list(columns)[:20]),
            errors=[{"field": "target", "message": "unknown column"}],
            code="unknown_column",
        )
    if columns[target]["type"] == "image":
        raise invalid(f"Column {target!r} holds images; it cannot be a target.", code="bad_target")
    if prediction_type is not None and prediction_type not in PREDICTION_TYPES:
        raise invalid(
            f"Prediction type {prediction_type!r} is not one of regression, binary, multiclass.",
            errors=[{"field": "prediction_type", "message": "unknown prediction type"}],
            code="bad_prediction_type",
        )
    values = datasets.load_frame(settings, dataset, columns=[target])[target]
    if prediction_type is None:
        prediction_type = infer_prediction_type(values, columns[target]["type"])
    else:
        check_prediction_type(values, columns[target]["type"], prediction_type)
    name = (name or "").strip() or f"Predict {target} ({prediction_type})"
    task = MLTask(
        id=short_id(),
        analysis_id=analysis.id,
        name=name[:200],
        target=target,
        prediction_type=prediction_type,
        settings=default_settings(dataset.columns, target, prediction_type, gpu_worker_alive(db, settings)),
    )
    db.add(task)
    db.flush()
    audit.record(db, user, "mltask.create", task.id, analysis=analysis.id, project=analysis.project.key)
    return task


def of_analysis(db: Session, analysis: Analysis) -> list[MLTask]:
    """The ML tasks of ANALYSIS, oldest first."""
    return list(db.scalars(select(MLTask).where(MLTask.analysis_id == analysis.id).order_by(MLTask.created_at)))


def session_counts(db: Session, analysis: Analysis) -> dict[str, int]:
    """How many training sessions each ML task of ANALYSIS has (tasks without one are left out)."""
    query = (
        select(TrainingSession.ml_task_id, func.count(TrainingSession.id))
        .join(MLTask, TrainingSession.ml_task_id == MLTask.id)
        .where(MLTask.analysis_id == analysis.id)
        .group_by(TrainingSession.ml_task_id)
    )
    return {task_id: count for task_id, count in db.execute(query).all()}


def target_columns(dataset: Dataset) -> list[dict[str, Any]]:
    """The columns of DATASET that can be a target: all but images."""
    return [c for c in dataset.columns if c["type"] != "image"]


def propose_prediction_type(settings: Settings, analysis: Analysis, target: str) -> dict[str, Any]:
    """{target, prediction_type, n_distinct}: what create would infer for TARGET (422 for a column it refuses)."""
    columns = {c["name"]: c for c in target_columns(analysis.dataset)}
    if target not in columns:
        raise invalid(f"{target!r} is not a column that can be a target.", code="unknown_column")
    values = datasets.load_frame(settings, analysis.dataset, columns=[target])[target]
    proposed = infer_prediction_type(values, columns[target]["type"])
    return {"target": target, "prediction_type": proposed, "n_distinct": int(values.nunique(dropna=True))}


def metric_choices(prediction_type: str) -> list[str]:
    """The optimisation metrics a design of PREDICTION_TYPE may pick: the catalogue's, then the custom score."""
    return [*metric_names(prediction_type), CUSTOM_SCORE]


def validate_settings(task: MLTask, raw: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Validate a settings document for TASK; returns the normalised settings or the list of errors."""
    if not isinstance(raw, dict):
        return None, [{"field": "settings", "message": "settings must be a JSON object"}]
    merged = {**task.settings, **raw}
    try:
        parsed = MLTaskSettings.model_validate(merged)
    except ValidationError as exc:
        return None, [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]
    doc = architecture_inputs.follow_inputs(task.settings, parsed.model_dump(), task.prediction_type)
    errors: list[dict[str, Any]] = []
    columns = {c["name"]: c for c in task.analysis.dataset.columns}
    for col, spec in doc["features"].items():
        if col not in columns:
            errors.append({"field": f"features.{col}", "message": f"{col!r} is not a column of the dataset"})
        elif col == task.target:
            errors.append({"field": f"features.{col}", "message": "the target cannot be a feature"})
        elif spec["type"] == "image" and columns[col]["type"] != "image":
            errors.append({"field": f"features.{col}", "message": "only image columns can have type 'image'"})
        elif spec["type"] != "image" and columns[col]["type"] == "image" and spec["role"] == "input":
            errors.append({"field": f"features.{col}", "message": "an image column must have type 'image'"})
    if not any(s["role"] == "input" for s in doc["features"].values()):
        errors.append({"field": "features", "message": "at least one column must have role 'input'"})
    errors += _shared_inputs(doc["features"])
    if not is_valid_metric(task.prediction_type, doc["metric"]):
        errors.append(
            {
                "field": "metric",
                "message": f"{doc['metric']!r} is not a metric of {task.prediction_type}; use one of "
                + ", ".join(metric_choices(task.prediction_type)),
            }
        )
    errors += code_check.check_code(
        doc["code"], advanced=doc["training"]["mode"] == "advanced", custom_metric=doc["metric"] == CUSTOM_SCORE
    )
    return (None, errors) if errors else (doc, [])


def _shared_inputs(features: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """An error for each column whose model input of its own another column already feeds (`a/b` and `a_b`: a "/"
    is written "_" in input names, preprocessing.input_name)."""
    own = [
        col
        for col, spec in features.items()
        if spec["role"] == "input" and (spec["type"] in ("text", "image") or spec.get("encoding") == "index")
    ]
    message = "{!r} already feeds the model input {!r}; reject one of the two"
    return [
        {"field": f"features.{col}", "message": message.format(owner, preprocessing.input_name(col))}
        for col, owner in preprocessing.shared_inputs(own)
    ]


def update_settings(db: Session, user: User, task: MLTask, raw: Any) -> MLTask:
    """Replace TASK's settings after validation (422 with every error found)."""
    doc, errors = validate_settings(task, raw)
    if doc is None:
        raise invalid("The settings are not valid; see errors.", errors=errors, code="invalid_settings")
    task.settings = doc
    db.flush()
    audit.record(db, user, "mltask.settings", task.id, project=task.analysis.project.key)
    return task


def follow_column_type(db: Session, dataset: Dataset, name: str, old_type: str, new_type: str) -> list[str]:
    """The ML tasks on DATASET whose feature NAME still has the column's OLD_TYPE take NEW_TYPE; their ids.

    A feature whose type differs from the column's type was set by the user in the design, and is kept
    (docs/decisions.md). The feature's options of the old type are dropped, and an architecture cell never
    edited follows the new inputs. Sessions keep their frozen design."""
    query = select(MLTask).join(Analysis, MLTask.analysis_id == Analysis.id).where(Analysis.dataset_id == dataset.id)
    updated = []
    for task in db.scalars(query.order_by(MLTask.created_at)):
        feature = (task.settings.get("features") or {}).get(name)
        if feature is None or feature.get("type") != old_type or old_type == new_type:
            continue
        features = {**task.settings["features"], name: {"role": feature.get("role", "input"), "type": new_type}}
        task.settings = architecture_inputs.follow_inputs(
            task.settings, {**task.settings, "features": features}, task.prediction_type
        )
        updated.append(task.id)
    return updated


def as_dict(task: MLTask) -> dict[str, Any]:
    """The API shape of an ML task."""
    return {
        "id": task.id,
        "analysis_id": task.analysis_id,
        "name": task.name,
        "target": task.target,
        "prediction_type": task.prediction_type,
        "settings": task.settings,
        "created_at": task.created_at,
    }
