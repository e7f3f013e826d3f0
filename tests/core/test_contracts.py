"""core/contracts.py: each contract is the JSON object it always was, and comes back equal from JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.contracts import DatasetRef, Design, DryRunResult, ErrorInfo, Job, Limits, Result

DESIGN_DOC = {
    "settings": {"metric": "ROC AUC", "split": {"seed": 7}, "training": {"mode": "standard"}, "code": {}},
    "target": "label",
    "prediction_type": "binary",
    "analysis_id": "abc12345",
    "ml_task_id": "xyz98765",
    "project_key": "PROJ",
    "dataset_id": 3,
    "submitted_by": "alice",
}


def _through_json(doc: dict[str, Any]) -> Any:
    return json.loads(json.dumps(doc))


def _job(**later: Any) -> Job:
    return Job(
        session_id=12,
        session_number=2,
        dry_run=False,
        design=Design.from_dict(DESIGN_DOC),
        dataset=DatasetRef(parquet="/data/d.parquet", files_root="/data/files", kind="table", columns=[{"name": "x"}]),
        out_dir="/scratch/out",
        tensorboard_dir="/scratch/out/tensorboard",
        gpus=[0],
        allow_growth=True,
        limits=Limits(cpu_time_s=0, time_limit_s=3600, max_open_files=1024, max_processes=256, max_file_mb=1, nice=5),
        **later,
    )


def test_error_info_is_the_five_keys_in_order() -> None:
    info = ErrorInfo("ValueError", "bad", "training", 4, "tb")
    assert list(info.as_dict()) == ["type", "message", "cell", "line", "traceback"]
    assert ErrorInfo("worker_lost", "gone").as_dict() == {
        "type": "worker_lost",
        "message": "gone",
        "cell": None,
        "line": None,
        "traceback": None,
    }
    assert ErrorInfo.from_dict(_through_json(info.as_dict())) == info


def test_design_round_trip_keeps_the_stored_json() -> None:
    design = Design.from_dict(DESIGN_DOC)
    assert design.as_dict() == DESIGN_DOC
    assert list(design.as_dict()) == list(DESIGN_DOC)  # the key order of the stored JSON too
    assert Design.from_dict(_through_json(design.as_dict())) == design
    assert (design.metric, design.seed, design.training, design.code) == ("ROC AUC", 7, {"mode": "standard"}, {})


def test_a_partial_design_takes_defaults() -> None:
    design = Design.from_dict({"settings": {}, "target": "y", "prediction_type": "regression"})
    assert design.dataset_id is None and design.submitted_by is None


def test_job_round_trip_through_job_json() -> None:
    job = _job()
    doc = job.as_dict()
    assert list(doc) == [
        "session_id",
        "session_number",
        "dry_run",
        "design",
        "dataset",
        "out_dir",
        "tensorboard_dir",
        "gpus",
        "allow_growth",
        "limits",
    ]  # the fields the worker adds later are left out while unset, as before
    assert doc["design"] == DESIGN_DOC
    assert doc["limits"]["time_limit_s"] == 3600
    assert Job.from_dict(_through_json(doc)) == job


def test_job_with_the_worker_s_additions_round_trips() -> None:
    job = _job(folders=[{"id": 1, "path": "/f"}], weights_dir="/w", checkpoint_dir="/c", checkpoint_every_s=60.0)
    doc = job.as_dict()
    assert doc["weights_dir"] == "/w" and "isolation" not in doc
    assert Job.from_dict(_through_json(doc)) == job


def test_job_from_a_dict_the_worker_extended() -> None:
    doc = {**_job().as_dict(), "isolation": "bubblewrap", "sandbox_read_only": ["/w"], "unknown_later_key": 1}
    job = Job.from_dict(doc)
    assert (job.isolation, job.sandbox_read_only) == ("bubblewrap", ["/w"])
    assert job.design.prediction_type == "binary" and job.dataset.parquet == "/data/d.parquet"


def test_result_round_trip() -> None:
    result = Result(
        metrics={"Test ROC AUC": 0.9},
        history=[{"epoch": 1, "Test ROC AUC": 0.9}],
        best_epoch=1,
        interrupted=False,
        input_shapes={"main": [4]},
        n_classes=2,
        class_labels=["a", "b"],
        preprocessing={"main": []},
        output_width=1,
        lineage=None,
        evaluation=None,
    )
    doc = result.as_dict()
    assert list(doc) == [
        "metrics",
        "history",
        "best_epoch",
        "interrupted",
        "input_shapes",
        "n_classes",
        "class_labels",
        "preprocessing",
        "output_width",
        "lineage",
        "evaluation",
    ]
    assert Result.from_dict(_through_json(doc)) == result


def test_dry_run_result_round_trip() -> None:
    result = DryRunResult(summary="Model: x", input_shapes={"main": [4]}, output_width=1, loss=0.5, params=5)
    assert list(result.as_dict()) == ["summary", "input_shapes", "output_width", "loss", "params"]
    assert DryRunResult.from_dict(_through_json(result.as_dict())) == result


def test_a_missing_required_field_is_an_error() -> None:
    with pytest.raises(TypeError):
        ErrorInfo.from_dict({"type": "X"})


def test_the_cell_contract_resolves_the_build_sequence_alias() -> None:
    from core import cells

    def defining(*names: str) -> Any:
        return lambda name: name in names

    assert cells.sequences_function(defining("build_sequences", "build_sequence")) == cells.BUILD_SEQUENCES
    assert cells.sequences_function(defining("build_sequence")) == cells.CellFunction("build_sequence", 2)
    assert cells.sequences_function(defining()) == cells.BUILD_SEQUENCES  # named as the spec names it
    training = cells.required_functions(cells.TRAINING, defining("fit_model", "build_sequences"))
    assert [(f.name, f.arity) for f in training] == [("fit_model", 4), ("build_sequences", 2)]
    architecture = cells.required_functions(cells.ARCHITECTURE, defining())
    assert [(f.name, f.arity) for f in architecture] == [("build_model", 2), ("compile_model", 1)]
