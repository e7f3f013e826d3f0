"""Response bodies of trained models, their locations, scoring and deployment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TrainedModelOut(BaseModel):
    """A trained model's metrics, history, shapes, classes and location."""

    id: str
    session_id: int
    analysis_id: str
    ml_task_id: str
    prediction_type: str
    metric: str
    best_epoch: int | None
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    input_shapes: dict[str, Any]
    n_classes: int
    class_labels: list[Any] | None
    lineage: list[Any]
    location: str
    download_url: str
    created_at: datetime
    evaluation: dict[str, Any] | None
    target_scaling: dict[str, Any] | None = None  # regression: trained on (y - mean) / std; in_model: file undoes it
    preprocessing_report: dict[str, dict[str, Any]] = {}  # per input column: missing, unparseable, imputed
    output_activation: str | None = None  # "sigmoid"/"softmax" when the model outputs logits (issue 22)


class LocationOut(BaseModel):
    """Where a model file lives: path, file:// URI and download URL."""

    location: str
    uri: str
    download_url: str


class PredictionOut(BaseModel):
    """Predictions for the rows sent; classification adds each row's probabilities and the class labels."""

    predictions: list[Any]
    # Defaults of None on non-null types: the key is absent for regression (routes exclude unset fields).
    probabilities: list[list[float]] = Field(None, description="classification only")
    class_labels: list[Any] = Field(None, description="classification only")
    imputed: dict[str, int] = Field({}, description="per input column: values missing or unparseable, imputed")


class DeployOut(BaseModel):
    """The saved model and version a deployment made."""

    saved_model_id: int
    version_id: str


class LayerOut(BaseModel):
    """One top-level layer of a model: its name, class, output shape, parameter count and whether it trains."""

    name: str
    type: str
    output_shape: list[Any] | None  # [None, 64]; a list of shapes for a layer with several outputs
    params: int
    trainable: bool  # false for a layer frozen (e.g. by a fine-tune's code)


class SummaryOut(BaseModel):
    """A trained model's layers and parameter counts (all, and those that train)."""

    layers: list[LayerOut]
    params: int
    trainable_params: int
