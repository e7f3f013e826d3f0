"""Batch scoring from the saved model's page in a real browser (Chromium + Playwright) against a real server and
worker: the dataset is picked in the form, the job's row follows its progress live, and its result is linked. And
the page's one-row form, with numbers typed as a German file writes them and a category the model never saw."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.webui import test_browser
from tests.webui.test_browser import PASSWORD, Live

live = test_browser.live  # the same server and worker fixture (one of its own for this module)
page = test_browser.page  # Chromium, failing the test on any JavaScript error or CSP violation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def small_batches() -> Iterator[None]:
    """The module's worker (started after this) scores 10 rows a batch: a job of many batches, seen moving (at 200
    rows a batch the fast path scored the 30,000 rows in 4 s, between two of the page's polls, 2 s apart)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "10")
        mp.setenv("FITSTUDIO_JOB_PROGRESS_EVERY_S", "0")  # every batch's progress written
        yield


@pytest.fixture
def api(live: Live) -> Iterator[httpx.Client]:
    """ada's API client, with project JOBS."""
    from server.db import session_scope
    from server.services import auth

    with session_scope() as db:
        token = auth.create_token(db, auth.get_user(db, "ada"), "jobs-browser-test")
    client = httpx.Client(base_url=f"{live.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    # The module's tests share one server: each starts from an empty project JOBS.
    assert client.delete("/projects/JOBS").status_code in (204, 404)
    assert client.post("/projects", json={"key": "JOBS", "name": "Jobs"}).status_code == 201
    yield client
    client.close()


def _upload(api: httpx.Client, name: str, frame: pd.DataFrame, **written: str) -> int:
    files = {"file": (f"{name}.csv", frame.to_csv(index=False, **written).encode(), "text/csv")}
    r = api.post("/projects/JOBS/datasets", data={"name": name}, files=files)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _deployed(api: httpx.Client, frame: pd.DataFrame, **written: str) -> int:
    """A model trained on FRAME (uploaded as a CSV written with WRITTEN's options; 2 epochs, CPU) and deployed; the
    saved model's id."""
    from tests import helpers

    analysis = api.post("/projects/JOBS/analyses", json={"dataset_id": _upload(api, "bc", frame, **written)}).json()
    task = api.post(f"/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
    settings = task["settings"]
    settings["gpu"]["use_gpu"] = False
    settings["training"]["epochs"] = 2
    assert api.put(f"/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    session = api.post(f"/ml-tasks/{task['id']}/train", json={}).json()

    def ended() -> dict[str, Any] | None:
        body = api.get(f"/sessions/{session['id']}").json()
        return body if body["status"] in ("succeeded", "failed", "aborted") else None

    final = helpers.wait_for(ended, 240, "the training to end", every=0.5)
    assert final["status"] == "succeeded", final["error"]
    r = api.post(f"/trained-models/{final['trained_model_id']}/deploy", json={"saved_model_name": "bc"})
    assert r.status_code == 201, r.text
    return int(r.json()["saved_model_id"])


def _log_in_at(page: Any, path: str) -> None:
    """Open PATH, log in as ada on the login page it shows, and wait to be back on PATH."""
    page.goto(path)
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    page.wait_for_url(re.compile(rf".*{re.escape(path)}$"))


def test_a_dataset_is_scored_from_the_saved_model_page(page: Any, live: Live, api: httpx.Client) -> None:
    from server.services.bootstrap import demo_bytes

    frame = pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue()))
    saved_id = _deployed(api, frame)
    many = frame.drop(columns=["diagnosis"]).sample(30_000, replace=True, random_state=3)
    dataset_id = _upload(api, "many", many)

    _log_in_at(page, f"/saved-models/{saved_id}")
    page.wait_for_selector(f'#score-dataset-form option[value="{dataset_id}"]', state="attached")
    page.select_option('select[name="dataset_id"]', str(dataset_id))
    page.click('button:has-text("Score the dataset")')
    page.wait_for_url(re.compile(rf".*/saved-models/{saved_id}\?scoring=\d+#jobs$"))
    job_id = int(re.search(r"scoring=(\d+)", page.url).group(1))
    row = page.locator(f'tr[data-job="{job_id}"]')
    # jobs.js updates the row without a reload while the worker scores its 3,000 batches…
    page.wait_for_function(
        f"""() => {{
            const cell = document.querySelector('tr[data-job="{job_id}"] [data-job-rows]');
            const done = cell ? Number(cell.textContent.split('/')[0]) : 0;
            return done > 0 && done < 30000;
        }}""",
        timeout=120_000,
    )
    assert "/ 30000" in row.locator("[data-job-rows]").inner_text()
    # …and reloads the page when it ends, which links the result.
    page.wait_for_selector(f'tr[data-job="{job_id}"] [data-job-result]', timeout=180_000)
    assert row.locator("[data-status]").inner_text() == "succeeded"
    assert row.locator("[data-job-rows]").inner_text().strip() == "30000 / 30000"
    result_id = int(row.locator("[data-job-result]").inner_text().split()[-1])
    assert api.get(f"/datasets/{result_id}").json()["n_rows"] == 30_000


def test_a_version_is_evaluated_and_retrained_from_the_saved_model_page(
    page: Any, live: Live, api: httpx.Client
) -> None:
    from server.services.bootstrap import demo_bytes
    from tests import helpers

    frame = pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue()))
    saved_id = _deployed(api, frame)
    labelled = _upload(api, "labelled", frame.sample(400, random_state=5))

    _log_in_at(page, f"/saved-models/{saved_id}")
    page.wait_for_selector(f'#evaluate-dataset-form option[value="{labelled}"]', state="attached")
    page.select_option('#evaluate-dataset-form select[name="dataset_id"]', str(labelled))
    page.click('button:has-text("Evaluate on the dataset")')
    page.wait_for_url(re.compile(rf".*/saved-models/{saved_id}\?evaluating=\d+#jobs$"))
    job_id = int(re.search(r"evaluating=(\d+)", page.url).group(1))
    # jobs.js reloads the page when the job ends: the row then links the evaluation, listed with its chart.
    result = page.wait_for_selector(f'tr[data-job="{job_id}"] [data-job-result]', timeout=180_000)
    evaluation_id = int(result.inner_text().split()[-1])
    row = page.locator(f'tr[data-evaluation="{evaluation_id}"]')
    assert float(row.locator("[data-value]").inner_text()) > 0.8  # ROC AUC on rows it mostly trained on
    assert float(row.locator("[data-validation]").inner_text()) > 0.8
    page.wait_for_function("() => window.fitEvaluationsChart && window.fitEvaluationsChart.data.datasets.length === 2")

    page.click(f'#evaluations-table a[href="/evaluations/{evaluation_id}"]')
    page.wait_for_url(re.compile(rf".*/evaluations/{evaluation_id}$"))
    page.wait_for_function("() => window.fitDecision !== undefined")  # the decision chart of a binary task
    assert "400 rows measured" in page.inner_text("#evaluation-rows")
    assert page.locator('#evaluation-metrics tr[data-metric="ROC AUC"]').count() == 1
    page.goto(f"{live.url}/projects/JOBS/jobs")
    assert page.locator(f'#jobs-table tr[data-job="{job_id}"]').count() == 1

    page.goto(f"{live.url}/saved-models/{saved_id}")
    page.wait_for_selector(f'#retrain-form option[value="{labelled}"]', state="attached")
    page.check('#retrain-form input[name="activate"]')
    page.click('#retrain-form button:has-text("Retrain")')
    page.wait_for_url(re.compile(r".*/ml-tasks/[^/?]+\?session=\d+$"))
    session_id = int(re.search(r"session=(\d+)", page.url).group(1))

    def ended() -> dict[str, Any] | None:
        body = api.get(f"/sessions/{session_id}").json()
        return body if body["status"] in ("succeeded", "failed", "aborted") else None

    assert helpers.wait_for(ended, 240, "the retrain to end", every=0.5)["status"] == "succeeded"
    saved = helpers.wait_for(
        lambda: (s := api.get(f"/saved-models/{saved_id}").json())["active_version"] != "v1" and s,
        60,
        "the retrained version to become active",
    )
    assert [v["id"] for v in saved["versions"]] == ["v1", "v2"] and saved["active_version"] == "v2"
    assert saved["versions"][1]["retrained_from"]["version_id"] == "v1"


def test_the_form_reads_numbers_as_a_german_file_writes_them_and_says_what_it_did_not_know(
    page: Any, live: Live, api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    from server.services.bootstrap import demo_bytes

    frame = pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue()))
    frame["Region"] = ["Nord", "Süd"] * (len(frame) // 2) + ["Nord"] * (len(frame) % 2)  # a categorical input
    saved_id = _deployed(api, frame, sep=";", decimal=",")  # as German Excel saves it: 14,5
    _log_in_at(page, f"/saved-models/{saved_id}")
    radius = page.locator('#score-form input[name="mean radius"]')
    assert "," in radius.input_value()  # the first row's number, as the file wrote it

    radius.fill("14,5")
    page.click('#score-form button[type="submit"]')
    expect(page.locator("#score-prediction")).to_have_text(re.compile("^(malignant|benign)$"), timeout=60_000)
    expect(page.locator("#score-imputed")).to_have_count(0)  # every number read, none imputed

    radius.fill("vierzehn")
    page.fill('#score-form input[name="Region"]', "Ost")
    page.click('#score-form button[type="submit"]')
    expect(page.locator("#score-imputed")).to_contain_text("mean radius", timeout=60_000)  # said, not silent
    expect(page.locator("#score-unseen")).to_contain_text("Region")  # a region the model never saw, said too
