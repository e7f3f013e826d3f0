"""The model card (GET /trained-models/{id}/card) of a stored trained model: both formats, its button, its rights."""

from __future__ import annotations

import re
from typing import Any

from tests.webui.conftest import Web, location
from tests.webui.support import design_form, fake_trained_model

EVALUATION = {
    "kind": "classification",
    "n_rows": 114,
    "labels": ["benign", "malignant"],
    "confusion_matrix": [[70, 2], [3, 39]],
    "roc": [{"label": "malignant", "fpr": [0, 0.1, 1], "tpr": [0, 0.9, 1], "auc": 0.97}],
}


def test_card_as_html_and_markdown(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, EVALUATION)
    r = web.api.get(f"/api/v1/trained-models/{tmid}/card")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    for section in ("data", "features", "design", "metrics", "history", "confusion", "lineage", "environment"):
        assert f'id="{section}"' in html, section
    assert "<script" not in html and "<link" not in html and "src=" not in html  # standalone: no asset to fetch
    assert html.count("<svg") == 3  # loss, ROC AUC per epoch (best epoch dashed), ROC curve
    assert 'class="best"' in html and "malignant (AUC 0.970)" in html
    assert "<td>Best epoch</td><td>2 of 2</td>" in html and "<td>Submitted by</td><td>owner</td>" in html
    assert "<td>ROC AUC</td><td>0.95</td><td>0.96</td>" in html  # the kept epoch's metrics
    assert "<td>mean radius</td><td>input</td><td>numeric</td><td>impute mean, rescale standard</td>" in html
    assert "def build_model" in html and "Trained from scratch" in html
    # A model trained before versions were recorded says so, and shows its split seed.
    assert "Not recorded" in html and "<td>split</td><td>1337</td>" in html
    assert "<td>tensorflow</td><td>not recorded</td>" in html
    details = web.api.get(f"/api/v1/trained-models/{tmid}").json()
    assert details["environment"] == {} and details["seeds"] == {"split": 1337, "tensorflow": None}

    md = web.api.get(f"/api/v1/trained-models/{tmid}/card", params={"format": "md"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    text = md.text
    assert text.startswith(f"# Model card: {tmid}\n")
    for heading in (
        "## Data and split",
        "## Features and their handling",
        "## Design and frozen code",
        "## Metrics",
        "### History",
        "## Lineage",
        "## Library versions and seeds",
    ):
        assert f"\n{heading}\n" in text, heading
    assert "| Best epoch | 2 of 2 |" in text and "| ROC AUC | 0.95 | 0.96 |" in text
    assert "| 2 | 0.4 | 0.45 | 0.95 | 0.96 |" in text  # the history, epoch 2
    assert "| benign | 70 | 2 |" in text and "| split | 1337 |" in text
    assert re.search(r"```python\n(.|\n)*def build_model(.|\n)*\n```\n", text)
    assert "<" not in text.replace("<=", "")  # no HTML in the Markdown


def test_card_errors_and_rights(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, EVALUATION)
    r = web.api.get(f"/api/v1/trained-models/{tmid}/card", params={"format": "pdf"})
    assert r.status_code == 422 and r.json()["code"]
    r = web.api.get("/api/v1/trained-models/P1-nope-nope-s9/card")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    stranger = web.api.user("stranger")
    assert web.api.get(f"/api/v1/trained-models/{tmid}/card", token=stranger).status_code == 404
    reader = web.api.user("reader", "P1", "reader")
    assert web.api.get(f"/api/v1/trained-models/{tmid}/card", token=reader, params={"format": "md"}).status_code == 200


def test_trained_model_page_links_its_card(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, EVALUATION)
    page = web.get(f"/trained-models/{tmid}").text
    assert f'id="model-card-link" href="/api/v1/trained-models/{tmid}/card" target="_blank"' in page
    card = web.get(f"/api/v1/trained-models/{tmid}/card")  # with the login cookie, as the button opens it
    assert card.status_code == 200 and "Model card" in card.text


def test_saving_the_design_form_keeps_the_seed(web: Web, task: dict[str, Any]) -> None:
    settings = web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()
    assert settings["training"]["seed"] == 1337  # the default
    settings["training"]["seed"] = None
    assert web.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    form = design_form(web, task["id"])
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "save"})).endswith("saved=1")
    assert web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()["training"]["seed"] is None
    settings["training"]["seed"] = 2**32
    r = web.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["training.seed"]
