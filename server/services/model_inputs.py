"""What an ML task's design feeds the model: each column's role and type, and the inputs build_model receives."""

from __future__ import annotations

from typing import Any

from core import contracts, data, preprocessing
from server.models import MLTask
from server.services import datasets
from server.settings import Settings

IMAGE_KEYS = ("height", "width", "channels")


def feature_columns(task: MLTask, doc: dict[str, Any]) -> list[dict[str, str]]:
    """{name, inferred, role, type} of every column but the target; a column DOC does not list is rejected."""
    features = doc.get("features") or {}
    columns = []
    for col in task.analysis.dataset.columns:
        if col["name"] == task.target:
            continue
        spec = features.get(col["name"]) or {"role": "reject", "type": col["type"]}
        columns.append({"name": col["name"], "inferred": col["type"], "role": spec["role"], "type": spec["type"]})
    return columns


def image_inputs(columns: list[dict[str, str]]) -> list[str]:
    """The model input names of the image COLUMNS (feature_columns' rows) used as inputs."""
    return [f"{c['name']}_preprocessed" for c in columns if c["type"] == "image" and c["role"] == "input"]


def input_shapes(settings: Settings, task: MLTask, doc: dict[str, Any]) -> dict[str, list[int]]:
    """The input_shapes build_model will receive for the (validated) settings DOC.

    Numeric columns count 1 each and text/image inputs follow their settings; categorical columns need the
    distinct values of the train split, so only they are read, and split exactly as the training splits.
    """
    inputs = {c: s for c, s in doc["features"].items() if s["role"] == "input"}
    values = _categorical_values(settings, task, doc, inputs)
    prep = {
        "main": [
            {"kind": s["type"], "values": values.get(c, [])}
            for c, s in inputs.items()
            if s["type"] in ("numeric", "categorical")
        ],
        "text": {c: {"sequence_length": int(doc["text"]["sequence_length"])} for c in _of_type(inputs, "text")},
        "image": {c: {k: int(doc["image"][k]) for k in IMAGE_KEYS} for c in _of_type(inputs, "image")},
    }
    return preprocessing.input_shapes(prep)


def _categorical_values(
    settings: Settings, task: MLTask, doc: dict[str, Any], inputs: dict[str, dict[str, str]]
) -> dict[str, list[Any]]:
    """The kept distinct values of each categorical input, from the train split (only those columns are read)."""
    categorical = {c: s for c, s in inputs.items() if s["type"] == "categorical"}
    if not categorical:
        return {}
    design = contracts.Design({**doc, "features": categorical}, task.target, task.prediction_type)
    frame = data.load_training_rows(str(datasets.parquet_path(settings, task.analysis.dataset)), design)
    train, _ = data.split(frame, doc["split"]["train_ratio"], doc["split"]["seed"])
    values: dict[str, list[Any]] = {}
    for col in categorical:
        counts = train[col].dropna().astype(str).value_counts()
        values[col] = list(counts.index[: preprocessing.MAX_DUMMIES])
    return values


def _of_type(inputs: dict[str, dict[str, str]], kind: str) -> list[str]:
    return [c for c, spec in inputs.items() if spec["type"] == kind]
