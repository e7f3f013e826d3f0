"""The design page for a newcomer: the custom score template, panels only for the data's types, the GPU default."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from tests.server.api.support import typed_csv
from tests.webui.conftest import Web, location
from tests.webui.support import design_form


def _new_task(web: Web, dataset_id: int, target: str) -> str:
    """A new analysis and ML task on DATASET_ID through the pages; its id."""
    analysis = location(web.post("/projects/P1/analyses", {"dataset_id": str(dataset_id), "name": "B"}))
    return location(web.post(f"/analyses/{analysis.rsplit('/', 1)[1]}/ml-tasks", {"target": target})).split("/")[2]


def _gpu_checkbox(page: str) -> str:
    return re.search(r'<input type="checkbox" name="gpu-use_gpu"[^>]*>', page).group(0)


def test_custom_score_tab_shows_the_template_which_is_kept_only_when_used(web: Web, task: dict[str, Any]) -> None:
    from server.services.defaults import CUSTOM_SCORE_EXAMPLE

    page = web.get(f"/ml-tasks/{task['id']}/design").text
    cell = re.search(r'<textarea class="code" name="code-custom_score"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert html.unescape(cell) == CUSTOM_SCORE_EXAMPLE and "def score(y_true, y_pred)" in html.unescape(cell)
    form = design_form(web, task["id"])
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "save"}))
    assert web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()["code"]["custom_score"] == ""
    # Chosen as the metric, the template is the cell (its NotImplementedError then says what to write).
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "metric": "Custom score", "action": "save"}))
    settings = web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()
    assert settings["metric"] == "Custom score" and settings["code"]["custom_score"] == CUSTOM_SCORE_EXAMPLE
    edited = CUSTOM_SCORE_EXAMPLE.replace("raise NotImplementedError", "return 1.0  #")
    form = {**design_form(web, task["id"]), "metric": "ROC AUC", "code-custom_score": edited}
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "save"}))
    assert web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()["code"]["custom_score"] == edited


def test_image_and_text_panels_only_for_data_that_has_such_features(web: Web, task: dict[str, Any]) -> None:
    page = web.get(f"/ml-tasks/{task['id']}/design").text  # the breast cancer data: numbers only
    assert '<fieldset id="image-panel" hidden>' in page and '<fieldset id="text-panel" hidden>' in page
    r = web.client.post(
        "/api/v1/projects/P1/datasets",
        data={"name": "typed"},
        files={"file": ("typed.csv", typed_csv(), "text/csv")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    typed = _new_task(web, r.json()["id"], "bin")
    page = web.get(f"/ml-tasks/{typed}/design").text
    assert '<fieldset id="text-panel" >' in page and '<fieldset id="image-panel" hidden>' in page
    # Both panels' fields are still in the form (hidden, not removed), so saving keeps their settings.
    form = design_form(web, typed)
    assert form["image-height"] == "64" and form["text-sequence_length"] == "128"


def test_gpu_is_ticked_only_when_a_live_worker_has_a_gpu(web: Web, task: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import WorkerRecord, utcnow

    assert web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()["gpu"]["use_gpu"] is False  # no worker
    assert " checked" not in _gpu_checkbox(web.get(f"/ml-tasks/{task['id']}/design").text)

    def worker(name: str, gpus: list[int], queues: list[str], seconds_ago: float = 0, trains: bool = True) -> Any:
        beat = utcnow() - timedelta(seconds=seconds_ago)
        return WorkerRecord(
            name=name, hostname="h", queues=queues, gpus=gpus, last_heartbeat=beat, accepts_trainings=trains
        )

    with session_scope() as db:  # none of these can train a GPU session now
        db.add(worker("cpu@h", [], ["gpu", "cpu"]))
        db.add(worker("silent@h", [0], ["gpu"], seconds_ago=3600))
        db.add(worker("cpu-queue@h", [0], ["cpu"]))
        db.add(worker("refusing@h", [0], ["gpu"], trains=False))
    assert web.api.get("/api/v1/workers").json()  # the same table the workers API shows
    no_gpu = _new_task(web, task["dataset"], "diagnosis")
    assert web.api.get(f"/api/v1/ml-tasks/{no_gpu}/settings").json()["gpu"]["use_gpu"] is False
    with session_scope() as db:
        db.add(worker("gpu@h", [0, 1], ["gpu"]))
    with_gpu = _new_task(web, task["dataset"], "diagnosis")
    assert web.api.get(f"/api/v1/ml-tasks/{with_gpu}/settings").json()["gpu"]["use_gpu"] is True
    assert " checked" in _gpu_checkbox(web.get(f"/ml-tasks/{with_gpu}/design").text)
    # A task keeps its setting: the default is taken once, when the task is created.
    assert web.api.get(f"/api/v1/ml-tasks/{no_gpu}/settings").json()["gpu"]["use_gpu"] is False
