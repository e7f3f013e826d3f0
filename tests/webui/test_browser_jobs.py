"""Batch scoring from the saved model's page in a real browser (Chromium + Playwright) against a real server and
worker: the dataset is picked in the form, the job's row follows its progress live, and its result is linked."""

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
    assert client.post("/projects", json={"key": "JOBS", "name": "Jobs"}).status_code == 201
    yield client
    client.close()


def _upload(api: httpx.Client, name: str, frame: pd.DataFrame) -> int:
    files = {"file": (f"{name}.csv", frame.to_csv(index=False).encode(), "text/csv")}
    r = api.post("/projects/JOBS/datasets", data={"name": name}, files=files)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _deployed(api: httpx.Client, frame: pd.DataFrame) -> int:
    """A model trained on FRAME (2 epochs, CPU) and deployed; the saved model's id."""
    from tests import helpers

    analysis = api.post("/projects/JOBS/analyses", json={"dataset_id": _upload(api, "bc", frame)}).json()
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


def test_a_dataset_is_scored_from_the_saved_model_page(page: Any, live: Live, api: httpx.Client) -> None:
    from server.services.bootstrap import demo_bytes

    frame = pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue()))
    saved_id = _deployed(api, frame)
    many = frame.drop(columns=["diagnosis"]).sample(30_000, replace=True, random_state=3)
    dataset_id = _upload(api, "many", many)

    page.goto(f"/saved-models/{saved_id}")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    page.wait_for_url(re.compile(rf".*/saved-models/{saved_id}$"))
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
