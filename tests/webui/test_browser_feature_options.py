"""The design page's per-feature option controls in a real browser (Debian's Chromium driven by Playwright) against a
real `fitstudio api` server (tests/webui/conftest.py's `live`, no worker: nothing here trains).

A person changes a numeric column's imputation and rescaling, a categorical column's encoding and size, and a text
column's vocabulary and sequence length on the features tab, saves, and the ML task's settings hold exactly those
options; the page shows them again after the reload.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.support import typed_csv
from tests.webui import test_browser
from tests.webui.test_browser import PASSWORD, Live

page = test_browser.page  # Chromium at 1280×800, failing the test on JavaScript errors or CSP violations

pytestmark = pytest.mark.slow


def _task_through_the_api(page: Any) -> str:
    """A project, the typed dataset (num, cat, txt, targets), an analysis and an ML task predicting 'bin'."""
    csrf = {"x-csrf-token": page.locator('meta[name="csrf-token"]').get_attribute("content")}

    def post(path: str, **kw: Any) -> Any:
        r = page.request.post(f"/api/v1{path}", headers=csrf, **kw)
        assert r.status == 201, r.text()
        return r.json()

    post("/projects", data={"key": "OPTS", "name": "Options"})
    typed = {"name": "typed.csv", "mimeType": "text/csv", "buffer": typed_csv()}
    ds = post("/projects/OPTS/datasets", multipart={"name": "typed", "file": typed})
    analysis = post("/projects/OPTS/analyses", data={"dataset_id": ds["id"], "name": "A"})
    return str(post(f"/analyses/{analysis['id']}/ml-tasks", data={"target": "bin"})["id"])


def test_a_person_sets_feature_options_in_the_browser(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    page.wait_for_url(f"{live.url}/")
    task_id = _task_through_the_api(page)
    settings_url = f"/api/v1/ml-tasks/{task_id}/settings"
    before = page.request.get(settings_url).json()["features"]
    assert {k: before[k]["type"] for k in ("num", "cat", "txt")} == {
        "num": "numeric",
        "cat": "categorical",
        "txt": "text",
    }

    page.goto(f"/ml-tasks/{task_id}/design")
    page.select_option('[aria-label="impute of num"]', "constant")
    page.fill('[aria-label="impute value of num"]', "-2.5")
    page.select_option('[aria-label="rescale of num"]', "minmax")
    page.select_option('[aria-label="encoding of cat"]', "index")
    page.fill('[aria-label="max values of cat"]', "2")
    page.fill('[aria-label="max tokens of txt"]', "500")
    page.fill('[aria-label="sequence length of txt"]', "16")
    page.click('button[name="action"][value="save"]')
    page.wait_for_url("**saved=1**")

    features = page.request.get(settings_url).json()["features"]
    assert features["num"] == {
        "role": "input",
        "type": "numeric",
        "impute": "constant",
        "impute_value": -2.5,
        "rescale": "minmax",
    }
    assert features["cat"] == {"role": "input", "type": "categorical", "encoding": "index", "max_values": 2}
    assert features["txt"] == {"role": "input", "type": "text", "max_tokens": 500, "sequence_length": 16}
    assert {k: v for k, v in features.items() if k not in ("num", "cat", "txt")} == {
        k: v for k, v in before.items() if k not in ("num", "cat", "txt")
    }
    # The reloaded page shows the stored options.
    expect(page.locator('[aria-label="impute of num"]')).to_have_value("constant")
    expect(page.locator('[aria-label="impute value of num"]')).to_have_value("-2.5")
    expect(page.locator('[aria-label="rescale of num"]')).to_have_value("minmax")
    expect(page.locator('[aria-label="encoding of cat"]')).to_have_value("index")
    expect(page.locator('[aria-label="max values of cat"]')).to_have_value("2")
    expect(page.locator('[aria-label="max tokens of txt"]')).to_have_value("500")
    expect(page.locator('[aria-label="sequence length of txt"]')).to_have_value("16")
