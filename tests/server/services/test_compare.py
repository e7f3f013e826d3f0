"""Comparing sessions, without HTTP: metric directions, the best per metric, settings paths, code diffs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from server.services import compare


def _row(number: int, settings: dict[str, Any]) -> Any:
    return SimpleNamespace(number=number, design={"settings": settings})


def test_directions_come_from_the_catalogue_and_keras_losses_are_lower_is_better() -> None:
    assert compare.greater_is_better("binary", "Test ROC AUC") is True
    assert compare.greater_is_better("binary", "Train ROC AUC") is True
    assert compare.greater_is_better("regression", "Test MAE") is False
    assert compare.greater_is_better("binary", "val_loss") is False
    # Not ranked: the custom score (its direction is in a cell), a Keras log such as the learning rate.
    assert compare.greater_is_better("binary", "Test Custom score") is None
    assert compare.greater_is_better("binary", "learning_rate") is None


def test_the_best_value_wins_in_its_direction_and_ties_all_win() -> None:
    entries = [
        {"number": 1, "metrics": {"loss": 0.3, "Test ROC AUC": 0.9, "learning_rate": 0.1}},
        {"number": 2, "metrics": {"loss": 0.2, "Test ROC AUC": 0.9}},
        {"number": 3, "metrics": {"loss": None}},
    ]
    assert compare.best_of("binary", entries) == {"loss": [2], "Test ROC AUC": [1, 2]}


def test_settings_differ_by_json_path_with_lists_as_one_value_and_null_where_missing() -> None:
    a = _row(1, {"training": {"epochs": 3, "batch_size": 32}, "gpu": {"gpu_list": [0]}})
    b = _row(2, {"training": {"epochs": 5, "batch_size": 32}, "gpu": {"gpu_list": [0, 1]}, "text": {"max_tokens": 9}})
    diff = compare.design_diff([a, b])
    assert [(d["path"], d["values"]) for d in diff] == [
        ("gpu.gpu_list", [[0], [0, 1]]),
        ("text.max_tokens", [None, 9]),
        ("training.epochs", [3, 5]),
    ]


def test_code_cells_differ_line_by_line_each_against_the_first_session() -> None:
    cells = ["x = 1\ny = 2\n", "x = 1\ny = 3\n", "x = 1\ny = 2\n"]
    rows = [_row(n, {"code": {"architecture": text, "training": ""}}) for n, text in zip((4, 7, 9), cells, strict=True)]
    (entry,) = compare.design_diff(rows)
    assert (entry["path"], entry["kind"], entry["values"]) == ("code.architecture", "code", cells)
    assert entry["diffs"] == [
        {"number": 7, "lines": ["--- s4", "+++ s7", "@@ -1,2 +1,2 @@", " x = 1", "-y = 2", "+y = 3"]},
        {"number": 9, "lines": []},
    ]
