"""The saved model page's evaluations, retrain and downloads, an evaluation's page and the project's jobs page:
the forms start the same jobs and sessions as the API, the pages show what the rows hold."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from tests.webui.conftest import Web, location
from tests.webui.support import fake_trained_model

REGRESSION_DOC = {"kind": "regression", "n_rows": 1, "actual": [1], "predicted": [1]}


def _deployed(web: Web, task: dict[str, Any]) -> tuple[str, int]:
    tmid = fake_trained_model(web, task, REGRESSION_DOC)
    url = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "judge", "activate": "1"}))
    return tmid, int(re.match(r"/saved-models/(\d+)", url).group(1))


def _stored_evaluation(saved_id: int, dataset_id: int, auc: float) -> int:
    """An evaluation row as the worker stores one: the catalogue metrics and core.evaluation's document."""
    from core import evaluation
    from server.db import session_scope
    from server.models import Evaluation, SavedModel

    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    proba = np.clip(y * 0.6 + rng.random(200) * 0.4, 0, 1)
    doc = evaluation.evaluate("binary", y, np.stack([1 - proba, proba], axis=1), ["benign", "malignant"])
    with session_scope() as db:
        saved = db.get(SavedModel, saved_id)
        row = Evaluation(
            project_id=saved.project_id,
            saved_model_id=saved_id,
            version_id="v1",
            dataset_id=dataset_id,
            dataset_name="cancer",
            job_id=None,
            prediction_type="binary",
            target="diagnosis",
            n_rows=200,
            rows_failed=3,
            metrics={"ROC AUC": auc, "Accuracy": 0.875},
            charts=doc,
        )
        db.add(row)
        db.flush()
        return row.id


def test_the_evaluate_form_queues_an_evaluation_job(web: Web, task: dict[str, Any]) -> None:
    _, saved_id = _deployed(web, task)
    page = web.get(f"/saved-models/{saved_id}").text
    assert 'id="evaluate-dataset-form"' in page and 'id="no-evaluations"' in page
    target = location(web.post(f"/saved-models/{saved_id}/evaluate", {"dataset_id": str(task["dataset"])}))
    job_id = int(re.match(rf"/saved-models/{saved_id}\?evaluating=(\d+)#jobs", target).group(1))
    job = web.api.get(f"/api/v1/jobs/{job_id}").json()
    assert (job["kind"], job["status"], job["dataset_id"]) == ("evaluate", "queued", task["dataset"])
    page = web.get(target.split("#")[0]).text
    assert f"Evaluation job {job_id} is queued" in page
    row = re.search(rf'<tr data-job="{job_id}" data-kind="evaluate" data-live>(.*?)</tr>', page, re.S)
    assert row and "<td>evaluation</td>" in row.group(1) and ">cancer</a>" in row.group(1)

    no_target = web.client.post(
        "/api/v1/projects/P1/datasets",
        data={"name": "unlabelled"},
        files={"file": ("u.csv", b"mean radius,x\n1,2\n3,4\n", "text/csv")},
        headers={"x-csrf-token": web.csrf},
    ).json()
    r = web.post(f"/saved-models/{saved_id}/evaluate", {"dataset_id": str(no_target["id"])})
    assert r.status_code == 422 and "diagnosis" in r.text
    r = web.post(f"/saved-models/{saved_id}/evaluate", {"dataset_id": ""})
    assert r.status_code == 422 and "Pick a dataset to evaluate on" in r.text

    assert page.count('name="use_gpu"') == 2  # the score and evaluate forms
    target = location(web.post(f"/saved-models/{saved_id}/score", {"dataset_id": str(task["dataset"]), "use_gpu": "1"}))
    gpu_job = int(re.search(r"scoring=(\d+)", target).group(1))
    assert web.api.get(f"/api/v1/jobs/{gpu_job}").json()["queue"] == "gpu"
    assert web.api.get(f"/api/v1/jobs/{job_id}").json()["queue"] == "cpu"
    page = web.get(f"/saved-models/{saved_id}").text
    row = re.search(rf'<tr data-job="{gpu_job}" data-kind="score" data-live>(.*?)</tr>', page, re.S).group(1)
    assert ">GPU</span>" in row


def test_the_retrain_form_queues_a_session_of_the_task(web: Web, task: dict[str, Any]) -> None:
    _, saved_id = _deployed(web, task)
    assert 'id="retrain-form"' in web.get(f"/saved-models/{saved_id}").text
    target = location(web.post(f"/saved-models/{saved_id}/retrain", {"dataset_id": "", "activate": "1"}))
    session_id = int(re.match(rf"/ml-tasks/{task['id']}\?session=(\d+)$", target).group(1))
    session = web.api.get(f"/api/v1/sessions/{session_id}").json()
    assert session["status"] == "queued"
    from server.db import session_scope
    from server.models import TrainingSession
    from server.services.retrain import MARKER

    with session_scope() as db:
        design = db.get(TrainingSession, session_id).design
    assert design[MARKER]["saved_model_id"] == saved_id and design[MARKER]["activate"] is True
    assert design["dataset_id"] == task["dataset"]  # its own dataset when none is picked


def test_evaluations_are_listed_beside_the_validation_metric_and_have_a_page(web: Web, task: dict[str, Any]) -> None:
    tmid, saved_id = _deployed(web, task)
    evaluation_id = _stored_evaluation(saved_id, task["dataset"], auc=0.8125)
    page = web.get(f"/saved-models/{saved_id}").text
    row = re.search(rf'<tr data-evaluation="{evaluation_id}">(.*?)</tr>', page, re.S)
    assert row, page[-2000:]
    assert "0.8125" in row.group(1) and "0.95" in row.group(1)  # on the dataset; the trained model's Test ROC AUC
    points = json.loads(
        re.search(r'<script type="application/json" id="evaluations-data">(.*?)</script>', page).group(1)
    )
    assert [(p["id"], p["version_id"], p["value"], p["validation"]) for p in points] == [
        (evaluation_id, "v1", 0.8125, 0.95)
    ]
    assert "/static/js/evaluations_chart.js" in page and 'id="evaluations-chart"' in page

    page = web.get(f"/evaluations/{evaluation_id}").text
    assert "Evaluation " + str(evaluation_id) in page and "<b>3</b> left out" in page
    metric = re.search(r'<tr data-metric="ROC AUC"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert "0.8125" in metric and "0.95" in metric and "optimised" in metric
    assert re.search(r'<tr data-metric="Accuracy"[^>]*>.*?0.875.*?—', page, re.S)  # not logged when trained
    for canvas in ("roc-chart", "decision-chart", "lift-chart", "calibration-chart", "density-chart"):
        assert f'id="{canvas}"' in page
    assert 'id="threshold-save"' not in page and 'id="confusion-matrix"' in page
    data = json.loads(re.search(r'<script type="application/json" id="model-data">(.*?)</script>', page).group(1))
    assert data["evaluation"]["kind"] == "classification" and data["evaluation"]["n_rows"] == 200
    assert f'href="/trained-models/{tmid}"' in page
    assert web.get("/evaluations/987654").status_code == 404


def test_the_project_jobs_page_lists_jobs_with_names_and_result_downloads(web: Web, task: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import Job

    _, saved_id = _deployed(web, task)
    assert 'id="no-jobs"' in web.get("/projects/P1/jobs").text
    score = web.api.post(f"/api/v1/saved-models/{saved_id}/score", json={"dataset_id": task["dataset"]}).json()
    evaluate = web.api.post(f"/api/v1/saved-models/{saved_id}/evaluate", json={"dataset_id": task["dataset"]}).json()
    with session_scope() as db:  # the score job ended as a worker ends one: its result is a dataset
        row = db.get(Job, score["id"])
        row.status, row.result_dataset_id = "succeeded", task["dataset"]
    page = web.get("/projects/P1/jobs").text
    done = re.search(rf'<tr data-job="{score["id"]}" data-kind="score" >(.*?)</tr>', page, re.S).group(1)
    assert f'href="/saved-models/{saved_id}">judge</a>' in done
    for fmt in ("csv", "parquet"):
        assert f'href="/api/v1/datasets/{task["dataset"]}/download?format={fmt}"' in done
    live = re.search(rf'<tr data-job="{evaluate["id"]}" data-kind="evaluate" data-live>(.*?)</tr>', page, re.S)
    assert live and f'data-abort-job="{evaluate["id"]}"' in live.group(1)
    assert page.index(f'data-job="{evaluate["id"]}"') < page.index(f'data-job="{score["id"]}"')  # newest first
    assert "/static/js/jobs.js" in page
    reader = web.api.user("jobs_reader", "P1", "reader")
    assert web.api.get("/api/v1/projects/P1/jobs", token=reader).status_code == 200
