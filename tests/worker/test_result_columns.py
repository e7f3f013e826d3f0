"""A scoring's result dataset describes its input columns with the scored dataset's own statistics and computes
only the prediction columns' (reading the input columns again cost most of a large job's end)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from worker.score_job_task import result_columns


def test_input_statistics_are_copied_and_prediction_columns_computed(tmp_path: Path) -> None:
    table = pa.table(
        {
            "x": [1.0, 2.0, 3.0, 4.0],
            "img": ["a.png", "b.png", "c.png", "d.png"],
            "prediction": ["yes", "no", "yes", "yes"],
            "proba_yes": [0.9, 0.2, 0.8, 0.7],
        }
    )
    path = tmp_path / "data.parquet"
    pq.write_table(table, path)
    marker = {"count": 4, "copied": True}  # not what column_stats would compute: proves the copy
    inputs = [
        {"name": "x", "type": "numeric", "stats": marker, "hints": ["kept"]},
        {"name": "img", "type": "image", "stats": {"count": 4}, "hints": []},
    ]
    columns = result_columns(path, table, inputs)
    assert [c["name"] for c in columns] == ["x", "img", "prediction", "proba_yes"]
    assert columns[0] == inputs[0]
    assert columns[1]["type"] != "image" and columns[1]["stats"]["distinct"] == 4  # paths, described again
    assert columns[2]["type"] == "categorical" and columns[2]["stats"]["distinct"] == 2
    assert columns[3]["type"] == "numeric" and columns[3]["stats"]["max"] == 0.9


def test_an_input_column_without_statistics_is_computed(tmp_path: Path) -> None:
    table = pa.table({"x": [1.0, 5.0], "prediction": [0.5, 0.25]})
    path = tmp_path / "data.parquet"
    pq.write_table(table, path)
    columns = result_columns(path, table, [{"name": "x", "type": "numeric"}])  # an older dataset: no stats yet
    assert columns[0]["stats"]["max"] == 5.0 and columns[1]["stats"]["min"] == 0.25
