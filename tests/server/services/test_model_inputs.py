"""What the design form shows of the model's inputs: each column's role and type, the image inputs' names."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from server.services import mltasks, model_inputs


def task() -> Any:
    columns = [
        {"name": "y", "type": "categorical"},
        {"name": "x", "type": "numeric"},
        {"name": "img", "type": "image"},
        {"name": "note", "type": "text"},
    ]
    return SimpleNamespace(target="y", analysis=SimpleNamespace(dataset=SimpleNamespace(columns=columns)))


def test_every_column_but_the_target_is_listed_and_unlisted_ones_are_rejected() -> None:
    x = {"role": "input", "type": "numeric", "rescale": "minmax"}
    doc = {"features": {"x": x, "img": {"role": "input", "type": "image"}}}
    columns = model_inputs.feature_columns(task(), doc)
    assert columns == [
        {"name": "x", "inferred": "numeric", "role": "input", "type": "numeric", "options": {"rescale": "minmax"}},
        {"name": "img", "inferred": "image", "role": "input", "type": "image", "options": {}},
        {"name": "note", "inferred": "text", "role": "reject", "type": "text", "options": {}},
    ]
    assert model_inputs.image_inputs(columns) == ["img_preprocessed"]


def test_the_targets_and_metrics_a_design_may_pick() -> None:
    assert [c["name"] for c in mltasks.target_columns(task().analysis.dataset)] == ["y", "x", "note"]
    choices = mltasks.metric_choices("regression")
    assert choices[-1] == "Custom score" and "R2 Score" in choices and "ROC AUC" not in choices


def test_input_shapes_follow_dates_index_encoding_and_per_feature_sizes() -> None:
    features = {
        "when": {"role": "input", "type": "date", "parts": ["year", "hour"]},
        "x": {"role": "input", "type": "numeric"},
        "c": {"role": "input", "type": "categorical", "encoding": "index"},
        "note": {"role": "input", "type": "text", "sequence_length": 9},
        "img": {"role": "input", "type": "image", "height": 8},
    }
    doc = {"features": features, "text": {"max_tokens": 100, "sequence_length": 4}}
    doc["image"] = {"height": 16, "width": 16, "channels": 3}
    shapes = model_inputs.input_shapes(None, task(), doc)  # type: ignore[arg-type]  # no dummies: nothing read
    assert shapes == {"main": [3], "c_preprocessed": [1], "note_preprocessed": [9], "img_preprocessed": [8, 16, 3]}
