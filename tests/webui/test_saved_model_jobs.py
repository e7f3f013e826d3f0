"""The saved model page's batch scoring: the form starts a job (POST …/score), the jobs table shows it with its
progress and an Abort button for writers; a dataset lacking the model's columns is refused with their names."""

from __future__ import annotations

import re
from typing import Any

from tests.webui.conftest import Web, location
from tests.webui.support import fake_trained_model


def test_the_saved_model_page_starts_and_lists_scoring_jobs(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, {"kind": "regression", "n_rows": 1, "actual": [1], "predicted": [1]})
    url = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "scorer", "activate": "1"}))
    saved_id = int(re.match(r"/saved-models/(\d+)", url).group(1))
    page = web.get(f"/saved-models/{saved_id}").text
    assert 'id="score-dataset-form"' in page and 'data-datasets-url="/api/v1/projects/P1/datasets"' in page
    assert task["dataset"] in [d["id"] for d in web.get("/api/v1/projects/P1/datasets").json()]  # what fills it
    assert 'id="no-jobs"' in page and 'id="jobs-table"' not in page

    target = location(web.post(f"/saved-models/{saved_id}/score", {"dataset_id": str(task["dataset"])}))
    job_id = int(re.match(rf"/saved-models/{saved_id}\?scoring=(\d+)#jobs", target).group(1))
    job = web.api.get(f"/api/v1/jobs/{job_id}").json()
    assert (job["status"], job["dataset_id"], job["saved_model_id"]) == ("queued", task["dataset"], saved_id)
    page = web.get(target.split("#")[0]).text
    assert f"Scoring job {job_id} is queued" in page
    row = re.search(rf'<tr data-job="{job_id}" data-kind="score" data-live>(.*?)</tr>', page, re.S)
    assert row, page[-3000:]
    assert 'class="badge queued"' in row.group(1) and f"0 / {job['progress']['total']}" in row.group(1)
    assert f'data-abort-job="{job_id}"' in row.group(1) and "/static/js/jobs.js" in page

    r = web.post(f"/saved-models/{saved_id}/score", {"dataset_id": ""})
    assert r.status_code == 422 and "Pick a dataset" in r.text
    lacking = web.client.post(
        "/api/v1/projects/P1/datasets",
        data={"name": "lacking"},
        files={"file": ("l.csv", b"a,b\n1,2\n3,4\n", "text/csv")},
        headers={"x-csrf-token": web.csrf},
    ).json()
    r = web.post(f"/saved-models/{saved_id}/score", {"dataset_id": str(lacking["id"])})
    assert r.status_code == 422 and "mean radius" in r.text

    reader = web.api.user("page_reader", "P1", "reader")
    web.api.post(f"/api/v1/jobs/{job_id}/abort")  # the owner ends it: the row loses its live marker and button
    page = web.get(f"/saved-models/{saved_id}").text
    assert f'<tr data-job="{job_id}" data-kind="score" >' in page and f'data-abort-job="{job_id}"' not in page
    assert (
        web.api.post(f"/api/v1/saved-models/{saved_id}/score", token=reader, json={"dataset_id": 1}).status_code == 403
    )


def test_a_jobs_row_says_what_it_imputed_and_which_categories_were_new(web: Web, task: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import Job

    tmid = fake_trained_model(web, task, {"kind": "regression", "n_rows": 1, "actual": [1], "predicted": [1]})
    url = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "counted", "activate": "1"}))
    saved_id = int(re.match(r"/saved-models/(\d+)", url).group(1))
    target = location(web.post(f"/saved-models/{saved_id}/score", {"dataset_id": str(task["dataset"])}))
    job_id = int(re.match(rf"/saved-models/{saved_id}\?scoring=(\d+)#jobs", target).group(1))
    with session_scope() as db:  # as the worker stores a finished job's counts
        job = db.get(Job, job_id)
        job.status, job.imputed, job.unseen = "succeeded", {"mean radius": 3, "mean area": 1}, {"shop": 2}
    page = web.get(f"/saved-models/{saved_id}").text
    row = re.search(rf'<tr data-job="{job_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert row and re.search(
        r"data-job-inputs>imputed: mean radius \(3\), mean area \(1\); not the model's "
        r"categories: shop \(2\)</div>",
        row.group(1),
    ), row
