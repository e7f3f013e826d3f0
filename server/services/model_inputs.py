"""What an ML task's design feeds the model: each column's role and type, and the inputs build_model receives."""

from __future__ import annotations

from typing import Any

from core import contracts, data, dates, preprocessing
from server.models import MLTask
from server.services import datasets
from server.settings import Settings

IMAGE_KEYS = ("height", "width", "channels")


def feature_columns(task: MLTask, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """{name, inferred, role, type, options} of every column but the target; a column DOC does not list is rejected."""
    features = doc.get("features") or {}
    columns = []
    for col in task.analysis.dataset.columns:
        if col["name"] == task.target:
            continue
        spec = features.get(col["name"]) or {"role": "reject", "type": col["type"]}
        options = {k: v for k, v in spec.items() if k not in ("role", "type")}
        row = {"name": col["name"], "inferred": col["type"], "role": spec["role"], "type": spec["type"]}
        columns.append({**row, "options": options})
    return columns


def image_inputs(columns: list[dict[str, Any]]) -> list[str]:
    """The model input names of the image COLUMNS (feature_columns' rows) used as inputs."""
    return [preprocessing.input_name(c["name"]) for c in columns if c["type"] == "image" and c["role"] == "input"]


def input_shapes(settings: Settings, task: MLTask, doc: dict[str, Any]) -> dict[str, list[int]]:
    """The input_shapes build_model will receive for the (validated) settings DOC.

    Numeric columns count 1 each and text/image inputs follow their settings; categorical columns need the
    distinct values of the train split, so only they are read, and split exactly as the training splits.
    """
    inputs = {c: s for c, s in doc["features"].items() if s["role"] == "input"}
    values = _categorical_values(settings, task, doc, inputs)
    prep: dict[str, Any] = {"main": [], "index": {}, "text": {}, "image": {}}
    for col, spec in inputs.items():
        kind = spec["type"]
        if kind == "numeric":
            prep["main"].append({"kind": kind})
        elif kind == "date":
            prep["main"].append({"kind": kind, "parts": spec.get("parts") or dates.PARTS})
        elif kind == "categorical" and spec.get("encoding") == "index":
            prep["index"][col] = {}
        elif kind == "categorical":
            prep["main"].append({"kind": kind, "values": values.get(col, [])})
        elif kind == "text":
            prep["text"][col] = preprocessing.feature_sizes(spec, doc["text"], preprocessing.TEXT_KEYS)
        elif kind == "image":
            prep["image"][col] = preprocessing.feature_sizes(spec, doc["image"], IMAGE_KEYS)
    return preprocessing.input_shapes(prep)


def _categorical_values(
    settings: Settings, task: MLTask, doc: dict[str, Any], inputs: dict[str, dict[str, Any]]
) -> dict[str, list[Any]]:
    """The kept distinct values of each dummy-encoded categorical input, from the train split (only they are read)."""
    categorical = {c: s for c, s in inputs.items() if s["type"] == "categorical" and s.get("encoding") != "index"}
    if not categorical:
        return {}
    design = contracts.Design({**doc, "features": categorical}, task.target, task.prediction_type)
    # The rows the training fits on, read by position: the target column and a bounded sample, never the dataset.
    train = data.fit_rows(str(datasets.parquet_path(settings, task.analysis.dataset)), list(categorical), design)
    values: dict[str, list[Any]] = {}
    for col, spec in categorical.items():
        values[col] = preprocessing.top_values(train[col], int(spec.get("max_values") or preprocessing.MAX_DUMMIES))
    return values
