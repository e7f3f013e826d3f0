"""The trained model page's richer evaluation: decision chart and threshold, per-class table, regression errors."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import numpy as np

from core import evaluation
from tests.webui.conftest import Web
from tests.webui.support import fake_trained_model


def _model_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="model-data">(.*?)</script>', page, re.S)
    assert match, page[-2000:]
    return json.loads(html.unescape(match.group(1)))


def binary_evaluation(n: int = 400, seed: int = 0) -> dict[str, Any]:
    """An evaluation document of a fair binary classifier on N synthetic rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    return evaluation.evaluate("binary", y, p1.reshape(-1, 1), ["benign", "malignant"])


def test_binary_page_has_the_decision_chart_and_the_saved_threshold(web: Web, task: dict[str, Any]) -> None:
    doc = binary_evaluation()
    tmid = fake_trained_model(web, task, doc)
    page = web.get(f"/trained-models/{tmid}").text
    for chart in ("decision-chart", "lift-chart", "calibration-chart", "density-chart", "roc-chart"):
        assert f'id="{chart}"' in page, chart
    assert 'id="threshold-input" min="0" max="1" step="0.01" value="0.50"' in page
    best = doc["charts"]["decision"]["f1_optimal_threshold"]
    assert f'id="threshold-f1" data-value="{best}"' in page
    assert f'data-url="/api/v1/trained-models/{tmid}/threshold"' in page  # the owner may save it
    assert 'id="gain-fp" value="-0.3"' in page and 'data-cm-mode="norm"' in page
    assert 'id="per-class"' not in page  # two classes: the decision chart says more
    assert _model_data(page)["evaluation"]["charts"]["decision"]["f1"] == doc["charts"]["decision"]["f1"]
    assert '<script src="/static/js/evaluation.js" defer></script>' in page

    got = web.api.get(f"/api/v1/trained-models/{tmid}/threshold").json()
    assert got == {"threshold": 0.5, "default": 0.5, "f1_optimal": best}
    # The page's save button sends the session cookie and the CSRF header, as here.
    r = web.client.put(
        f"/api/v1/trained-models/{tmid}/threshold", json={"threshold": 0.37}, headers={"x-csrf-token": web.csrf}
    )
    assert r.status_code == 200 and r.json()["threshold"] == 0.37, r.text
    r = web.client.put(f"/api/v1/trained-models/{tmid}/threshold", json={"threshold": 0.4})
    assert r.status_code == 403 and r.json()["code"], r.text  # no CSRF header: refused, nothing changed
    page = web.get(f"/trained-models/{tmid}").text
    assert 'value="0.37" data-saved="0.37"' in page and "Saved threshold: <b>0.37</b>" in page

    reader = web.api.user("rita", "P1", "reader")
    assert web.api.get(f"/api/v1/trained-models/{tmid}/threshold", token=reader).json()["threshold"] == 0.37
    r = web.api.put(f"/api/v1/trained-models/{tmid}/threshold", token=reader, json={"threshold": 0.9})
    assert r.status_code == 403 and r.json()["code"], r.text
    from sqlalchemy import select

    from server.db import session_scope
    from server.models import AuditEvent

    with session_scope() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "model.threshold")).all()
        assert [(e.target, e.username) for e in events] == [(tmid, "owner")]


def test_old_binary_models_keep_0_5_and_no_decision_chart(web: Web, task: dict[str, Any]) -> None:
    doc = {k: v for k, v in binary_evaluation().items() if k != "charts"}  # stored before the charts existed
    tmid = fake_trained_model(web, task, doc)
    page = web.get(f"/trained-models/{tmid}").text
    assert 'id="confusion-matrix"' in page and 'id="decision-chart"' not in page and "cm-toggle" not in page
    assert web.api.get(f"/api/v1/trained-models/{tmid}/threshold").json() == {
        "threshold": 0.5,
        "default": 0.5,
        "f1_optimal": None,
    }


def test_multiclass_page_has_per_class_scores_and_a_normalised_matrix(web: Web, task: dict[str, Any]) -> None:
    y = np.array([0] * 6 + [1] * 3 + [2] * 1)
    predicted = np.array([0, 0, 0, 0, 1, 2, 1, 1, 0, 2])
    doc = evaluation.evaluate("multiclass", y, np.eye(3)[predicted], ["a", "b", "c"])
    tmid = fake_trained_model(web, task, doc)
    page = web.get(f"/trained-models/{tmid}").text
    rows = re.findall(r'<tr data-class="(\w)">(.*?)</tr>', page)
    assert [label for label, _ in rows] == ["a", "b", "c"]
    # class a: 4 of 6 found (recall 0.6667), 4 of 5 predicted a right (precision 0.8), F1 0.7273, 6 rows
    assert re.findall(r'class="num">([^<]*)</td>', rows[0][1]) == ["0.8", "0.6667", "0.7273", "6"]
    assert 'data-count="4" data-norm="0.666667"' in page and 'data-count="1" data-norm="1.0"' in page
    assert 'id="decision-chart"' not in page


def test_regression_page_has_the_error_distribution_and_residuals(web: Web, task: dict[str, Any]) -> None:
    y = np.linspace(0, 10, 3000)
    doc = evaluation.evaluate("regression", y, (y + np.sin(y)).reshape(-1, 1), None)
    tmid = fake_trained_model(web, task, doc)
    page = web.get(f"/trained-models/{tmid}").text
    assert 'id="error-histogram"' in page and 'id="residuals-chart"' in page and 'id="scatter-chart"' in page
    charts = _model_data(page)["evaluation"]["charts"]
    assert len(charts["residuals"]["error"]) == 2000 and sum(charts["error_histogram"]["counts"]) == 3000
    from server.db import session_scope
    from server.models import TrainedModel

    with session_scope() as db:
        db.get(TrainedModel, tmid).prediction_type = "regression"  # the fake model row is binary until here
    for r in (
        web.api.get(f"/api/v1/trained-models/{tmid}/threshold"),
        web.api.put(f"/api/v1/trained-models/{tmid}/threshold", json={"threshold": 0.2}),
    ):
        assert r.status_code == 409 and r.json()["code"] == "not_binary", r.text
