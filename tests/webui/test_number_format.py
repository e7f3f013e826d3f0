"""One number rule for metrics on every page: the Jinja filter `num` and common.js's formatNumber agree."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from tests import helpers
from tests.webui.conftest import Web, location
from tests.webui.support import fake_trained_model

# value → what every page shows
CASES: list[tuple[Any, str]] = [
    (1, "1"),
    (1.0, "1"),  # not "1.000"
    (0.99871, "0.9987"),  # not "0.999"
    (0.5, "0.5"),
    (0.1 + 0.2, "0.3"),
    (123.456, "123.5"),
    (-3.14159, "-3.142"),
    (999.96, "1000"),
    (9999.96, "10000"),
    (12345.6, "12346"),
    (-12345.5, "-12345"),  # halves up, as JavaScript's Math.round
    (-0.0, "0"),
    (0, "0"),
    (0.00012345, "0.0001234"),
    (1.2345e-5, "1.234e-5"),
    (2e20, "2e20"),
    (None, "—"),
    (math.nan, "—"),
]


def test_the_jinja_filter_follows_the_rule() -> None:
    from webui.web import fmt_num

    assert [fmt_num(v) for v, _ in CASES] == [want for _, want in CASES]


@pytest.mark.slow
def test_the_javascript_rule_is_the_same_in_chromium() -> None:
    from tests.webui.test_browser import CHROMIUM, CHROMIUM_ARGS, browser_problem
    from webui.web import HERE, fmt_num

    helpers.require_service("Chromium + Playwright", browser_problem())
    from playwright.sync_api import sync_playwright

    values = [v for v, _ in CASES if v is not None and not (isinstance(v, float) and math.isnan(v))]
    values += [0.123456789, 42.00001, 7.25, 1e-4, 0.0001, 99999.5, 1e15, 3e-7]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content("<html><body></body></html>")
            page.add_script_tag(path=str(HERE / "static" / "js" / "common.js"))
            shown = page.evaluate("(vs) => vs.map((v) => window.formatNumber(v))", values)
            assert page.evaluate("[window.formatNumber(null), window.formatNumber(NaN)]") == ["—", "—"]
        finally:
            browser.close()
    assert shown == [fmt_num(v) for v in values]


def test_results_trained_and_saved_model_pages_use_the_rule(web: Web, task: dict[str, Any]) -> None:
    evaluation = {"kind": "regression", "n_rows": 1, "actual": [1], "predicted": [1]}
    tmid = fake_trained_model(web, task, evaluation)  # Test ROC AUC 0.95, Train ROC AUC 0.96, loss 0.4
    from server.db import session_scope
    from server.models import TrainedModel

    with session_scope() as db:
        model = db.get(TrainedModel, tmid)
        model.metrics = {**model.metrics, "Test ROC AUC": 1.0, "Train ROC AUC": 0.99871, "loss": 0.000012345}
    page = web.get(f"/trained-models/{tmid}").text
    auc = re.search(r"<td>ROC AUC</td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]+)</td>', auc) == ["1", "0.9987"]
    assert "1.234e-5" in re.search(r'<tr data-log="loss">(.*?)</tr>', page, re.S).group(1)
    assert "ROC AUC 1 " in re.search(r'<h1 id="model-heading">(.*?)</h1>', page, re.S).group(1)
    saved = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "fmt", "activate": "1"}))
    assert re.search(r'<span class="muted small">ROC AUC</span> 1</td>', web.get(saved).text)
    results = web.get(f"/ml-tasks/{task['id']}").text
    assert re.search(r'data-metric><span class="muted small">ROC AUC</span> 1</td>', results), results[-3000:]
