"""Response bodies of trained models, their locations, scoring and deployment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    preprocessing_fitted_on: dict[str, Any] | None = None  # {rows, train_rows, streamed}; None before issue 17
    output_activation: str | None = None  # "sigmoid"/"softmax" when the model outputs logits (issue 22)
    environment: dict[str, str | None] = {}  # Python, TensorFlow, Keras, numpy, pandas, scikit-learn, fitstudio
    seeds: dict[str, Any] = {}  # split, tensorflow (training.seed, or the one drawn when it was null)


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
    unseen: dict[str, int] = Field(
        {}, description="per categorical input column: values that are none of the categories the model encodes"
    )


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
    inbound: list[str] = []  # the layers whose outputs it reads (the previous one in a Sequential model)


class SummaryOut(BaseModel):
    """A trained model's layers and parameter counts (all, and those that train)."""

    layers: list[LayerOut]
    params: int
    trainable_params: int


class ThresholdIn(BaseModel):
    """PUT …/threshold: a binary model's decision threshold (a row is positive when its probability is at least it)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(ge=0, le=1, allow_inf_nan=False)


class ThresholdOut(BaseModel):
    """A binary model's decision threshold, the default one and the F1-optimal one of its evaluation."""

    threshold: float
    default: float
    f1_optimal: float | None  # None for a model stored without the decision chart (older models)
