"""The richer evaluation in a real browser (Debian's Chromium driven by Playwright) against a real `fitstudio api`.

A person opens a binary model's page, sees the decision, lift, calibration and density charts drawn, picks the
F1-optimal threshold, edits the cost matrix (the gain curve moves), saves the threshold (the API then has it), and
switches the confusion matrix to shares of the actual class; multiclass and regression pages draw theirs. No worker:
the models are stored as a training stores them, with evaluations computed on synthetic data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core import evaluation, evaluation_charts
from tests.webui import test_browser
from tests.webui.support import fake_trained_model
from tests.webui.test_browser import PASSWORD, Live, shot
from tests.webui.test_browser_delete_lists import _api
from tests.webui.test_evaluation_pages import binary_evaluation

page = test_browser.page  # Chromium at 1280×800, failing the test on JavaScript errors or CSP violations

pytestmark = pytest.mark.slow


def _task(page: Any) -> dict[str, Any]:
    """Project P1 (the key fake_trained_model stores under) with a dataset, an analysis and an ML task."""
    from server.db import session_scope
    from server.services import auth

    with session_scope() as db:
        auth.create_user(db, "owner", password=PASSWORD)  # fake_trained_model's submitter
    _api(page, "POST", "/projects", data={"key": "P1", "name": "evaluation"})
    from server.services.bootstrap import demo_bytes

    files = {"file": {"name": "c.csv", "mimeType": "text/csv", "buffer": demo_bytes("breast_cancer").getvalue()}}
    ds = _api(page, "POST", "/projects/P1/datasets", multipart={"name": "d", **files})["id"]
    analysis = _api(page, "POST", "/projects/P1/analyses", data={"dataset_id": ds, "name": "a"})["id"]
    task = _api(page, "POST", f"/analyses/{analysis}/ml-tasks", data={"target": "diagnosis"})["id"]
    return {"id": task, "analysis": analysis}


def test_a_person_reads_the_evaluation_and_saves_a_threshold(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    page.wait_for_url(f"{live.url}/")
    task = _task(page)
    doc = binary_evaluation(600, seed=4)
    decision = doc["charts"]["decision"]
    best = decision["f1_optimal_threshold"]
    assert best != 0.5
    tmid = fake_trained_model(None, task, doc)

    page.goto(f"/trained-models/{tmid}")
    chart = page.locator("#decision-chart")
    expect(chart).to_have_attribute("data-threshold", "0.5")
    i = decision["thresholds"].index(0.5)
    expect(page.locator('#threshold-cm [data-cell="tp"]')).to_have_text(str(decision["tp"][i]))
    expect(page.locator("#lift-chart")).to_have_attribute("data-points", "101")
    expect(page.locator("#calibration-chart")).to_have_attribute(
        "data-points", str(len(doc["charts"]["calibration"]["count"]))
    )
    expect(page.locator("#density-chart")).to_have_attribute("data-curves", "2")

    page.click("#threshold-f1")
    expect(page.locator("#threshold-input")).to_have_value(str(best))
    j = decision["thresholds"].index(best)
    expect(page.locator('#threshold-cm [data-cell="fp"]')).to_have_text(str(decision["fp"][j]))
    expect(page.locator("#threshold-scores")).to_contain_text(f"F1 {decision['f1'][j]:.4g}")
    n = 600
    gain = (decision["tp"][j] - 0.3 * decision["fp"][j]) / n  # the default cost matrix: TP 1, TN 0, FP -0.3, FN 0
    assert abs(float(chart.get_attribute("data-gain")) - gain) < 1e-9
    page.fill("#gain-fn", "-1")
    gain -= decision["fn"][j] / n
    page.wait_for_function(f"Math.abs(Number(document.getElementById('decision-chart').dataset.gain) - {gain}) < 1e-9")

    page.click("#threshold-save")
    expect(page.locator("#threshold-status")).to_have_text(f"Saved threshold: {best}")
    assert _api(page, "GET", f"/trained-models/{tmid}/threshold")["threshold"] == best

    cell = page.locator("#confusion-matrix tbody tr").first.locator("td").first
    count = doc["confusion_matrix"][0][0]
    expect(cell).to_have_text(str(count))
    page.click('button[data-cm-mode="norm"]')
    expect(cell).to_have_text(f"{count / sum(doc['confusion_matrix'][0]):.4g}")
    page.set_viewport_size({"width": 1280, "height": 1900})
    page.evaluate("window.scrollTo(0, document.querySelector('#confusion-matrix').closest('.grid-2').offsetTop - 80)")
    shot(page, live, "evaluation", full=False)

    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    proba = rng.dirichlet([1, 1, 1], 300) + np.eye(3)[y] * 0.5
    multi = fake_trained_model(None, task, evaluation.evaluate("multiclass", y, proba / 1.5, ["a", "b", "c"]))
    page.goto(f"/trained-models/{multi}")
    expect(page.locator("#per-class tbody tr")).to_have_count(3)
    expect(page.locator("#decision-chart")).to_have_count(0)

    y = np.linspace(0, 10, 3000)
    noisy = y + rng.normal(0, 0.3 + 0.05 * y)  # errors that grow with the target
    regression = evaluation.evaluate("regression", y, noisy.reshape(-1, 1), None)
    page.goto(f"/trained-models/{fake_trained_model(None, task, regression)}")
    expect(page.locator("#residuals-chart")).to_have_attribute("data-points", "2000")
    expect(page.locator("#error-histogram")).to_have_attribute("data-bins", str(evaluation_charts.ERROR_BINS))
    page.evaluate("window.scrollTo(0, document.querySelector('#residuals-chart').closest('.grid-2').offsetTop - 80)")
    shot(page, live, "evaluation-regression", full=False)
