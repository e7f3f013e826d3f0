"""Evaluation jobs (api.md "Batch jobs"): the checks made before one starts (422 naming the target and the missing
inputs), and the worker's evaluation (worker/evaluate_job_task.py) run in this process: its metrics are the
catalogue's (core/metrics.py) computed on …/predict's answers for the same rows; listing and reading evaluations."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core import metrics
from tests.server.api.support import API, create_project, expect, expect_error
from tests.server.api.test_jobs import _csv, _deployed


def test_checks_before_an_evaluation_starts(
    api: Any, project: str, dataset: dict[str, Any], ml_task: dict[str, Any], demo_csv: bytes
) -> None:
    saved = _deployed(api, ml_task, "eval-checks")
    frame = pd.read_csv(io.BytesIO(demo_csv))
    unlabelled = expect(api.upload_csv(project, "unlabelled", _csv(frame.drop(columns=["diagnosis"]))), 201)
    both = frame.drop(columns=["diagnosis", "mean radius", "worst area"])
    lacking = expect(api.upload_csv(project, "lacking-both", _csv(both)), 201)
    inputs_only = expect(api.upload_csv(project, "lacking-inputs", _csv(frame.drop(columns=["mean texture"]))), 201)

    url = f"{API}/saved-models/{saved}/evaluate"
    body = expect_error(api.post(url, json={"dataset_id": unlabelled["id"]}), 422)
    assert body["code"] == "missing_columns" and "'diagnosis'" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["diagnosis"]
    body = expect_error(api.post(url, json={"dataset_id": lacking["id"]}), 422)
    assert [e["field"] for e in body["errors"]] == ["diagnosis", "mean radius", "worst area"]
    assert all(name in body["detail"] for name in ("diagnosis", "mean radius", "worst area"))
    body = expect_error(api.post(url, json={"dataset_id": inputs_only["id"]}), 422)
    assert [e["field"] for e in body["errors"]] == ["mean texture"] and "diagnosis" not in body["detail"]
    # Scoring needs no target: the unlabelled dataset is scorable.
    expect(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": unlabelled["id"]}), 202)
    assert [j["kind"] for j in expect(api.get(f"{API}/projects/{project}/jobs"), 200)] == ["score"]

    expect_error(api.post(f"{API}/saved-models/{saved + 1000}/evaluate", json={"dataset_id": dataset["id"]}), 404)
    expect_error(api.post(url, json={"dataset_id": dataset["id"], "version": "v9"}), 404)
    expect_error(api.post(url, json={"dataset_id": dataset["id"], "extra": 1}), 422)
    create_project(api, "ELSEWHERE")
    elsewhere = expect(api.upload_csv("ELSEWHERE", "elsewhere", demo_csv), 201)
    assert expect_error(api.post(url, json={"dataset_id": elsewhere["id"]}), 422)["code"] == "other_project"
    reader = api.user("er", project, "reader")
    expect_error(api.post(url, json={"dataset_id": dataset["id"]}, token=reader), 403, "forbidden")
    expect_error(api.get(f"{API}/evaluations/987654"), 404)
    expect_error(api.get(f"{API}/evaluations/x"), 404)  # as for any malformed id in a path
    assert expect(api.get(f"{API}/saved-models/{saved}/evaluations"), 200) == []


def test_the_worker_evaluates_in_batches_as_predict_scores(
    api: Any, project: str, ml_task: dict[str, Any], demo_csv: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.settings import get_settings
    from worker.evaluate_job_task import run_evaluate_job

    saved = _deployed(api, ml_task, "evaluated")
    frame = pd.read_csv(io.BytesIO(demo_csv))
    frame.loc[[3, 140], "diagnosis"] = None  # no target: left out and counted
    frame.loc[[77], "diagnosis"] = "unknown class"
    labelled = expect(api.upload_csv(project, "labelled", _csv(frame)), 201)
    monkeypatch.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "64")
    get_settings.cache_clear()
    job = expect(api.post(f"{API}/saved-models/{saved}/evaluate", json={"dataset_id": labelled["id"]}), 202)
    assert job["kind"] == "evaluate" and job["result"] == {"dataset_id": None, "evaluation_id": None}

    assert run_evaluate_job(job["id"], "test-worker") == "succeeded"
    assert run_evaluate_job(job["id"], "test-worker") == "skipped"
    done = expect(api.get(f"{API}/jobs/{job['id']}"), 200)
    n = len(frame)
    assert done["status"] == "succeeded" and done["progress"] == {"rows": n, "total": n, "failed": 3}
    assert [f["row"] for f in done["failures"]] == [3, 77, 140]
    evaluation = expect(api.get(f"{API}/evaluations/{done['result']['evaluation_id']}"), 200)
    assert evaluation["n_rows"] == n - 3 and evaluation["rows_failed"] == 3 and evaluation["target"] == "diagnosis"
    assert (evaluation["job_id"], evaluation["dataset_id"], evaluation["version_id"]) == (
        job["id"],
        labelled["id"],
        "v1",
    )

    kept = frame.drop(index=[3, 77, 140])
    rows = kept.drop(columns=["diagnosis"]).to_dict(orient="records")
    predicted = expect(api.post(f"{API}/saved-models/{saved}/predict", json={"rows": rows}), 200)
    y_true = kept["diagnosis"].map({c: i for i, c in enumerate(predicted["class_labels"])}).to_numpy()
    expected = metrics.compute("binary", y_true, np.asarray(predicted["probabilities"]))
    assert set(evaluation["metrics"]) == set(expected)
    for name, value in expected.items():
        got = evaluation["metrics"][name]
        assert (got is None and np.isnan(value)) or got == pytest.approx(value, rel=1e-6, abs=1e-9), name
    charts = evaluation["charts"]
    assert charts["labels"] == predicted["class_labels"] and np.sum(charts["confusion_matrix"]) == n - 3
    assert charts["roc"] and charts["roc"][0]["auc"] == pytest.approx(evaluation["metrics"]["ROC AUC"])

    listed = expect(api.get(f"{API}/saved-models/{saved}/evaluations"), 200)
    assert [e["id"] for e in listed] == [evaluation["id"]] and "charts" not in listed[0]
    outsider = api.user("eo")
    expect_error(api.get(f"{API}/evaluations/{evaluation['id']}", token=outsider), 404)


def test_a_regression_is_evaluated_with_predicted_against_actual(
    api: Any, project: str, typed_dataset: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.settings import get_settings
    from tests.server.api.support import create_analysis, create_ml_task, typed_csv
    from worker.evaluate_job_task import run_evaluate_job

    task = create_ml_task(api, create_analysis(api, project, typed_dataset["id"])["id"], "score")
    saved = _deployed(api, task, "typed-regression")
    frame = pd.read_csv(io.BytesIO(typed_csv(45)))
    labelled = expect(api.upload_csv(project, "typed-labelled", _csv(frame)), 201)
    monkeypatch.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "20")
    get_settings.cache_clear()
    job = expect(api.post(f"{API}/saved-models/{saved}/evaluate", json={"dataset_id": labelled["id"]}), 202)
    assert run_evaluate_job(job["id"], "test-worker") == "succeeded"
    done = expect(api.get(f"{API}/jobs/{job['id']}"), 200)
    evaluation = expect(api.get(f"{API}/evaluations/{done['result']['evaluation_id']}"), 200)

    rows = frame.drop(columns=["score"]).to_dict(orient="records")
    predicted = expect(api.post(f"{API}/saved-models/{saved}/predict", json={"rows": rows}), 200)["predictions"]
    expected = metrics.compute("regression", frame["score"].to_numpy(), np.asarray(predicted)[:, None])
    assert evaluation["metrics"]["R2 Score"] == pytest.approx(expected["R2 Score"], rel=1e-6)
    assert evaluation["metrics"]["MAE"] == pytest.approx(expected["MAE"], rel=1e-6)
    assert evaluation["charts"]["actual"] == pytest.approx(frame["score"].tolist())
    assert evaluation["charts"]["predicted"] == pytest.approx(predicted, rel=1e-6)
