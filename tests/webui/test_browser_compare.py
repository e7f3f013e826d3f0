"""Comparing sessions, and tagging them, in a real browser (Debian's Chromium driven by Playwright) against a real
`fitstudio api` server (no worker: the sessions stay queued, their epochs written as a worker writes them).

A person tags a session on the results page and finds it by its tag in the sessions table's search, ticks two
sessions, clicks Compare, sees both sessions' validation curves (then train and validation once the metric is
the loss), the best final metric highlighted in its direction, and the design diff: the epochs and the
architecture line by line.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.webui import test_browser
from tests.webui.test_browser import PASSWORD, Live, shot
from tests.webui.test_browser_delete_lists import _api

page = test_browser.page  # Chromium at 1280×800, failing the test on JavaScript errors or CSP violations

pytestmark = pytest.mark.slow

EXTRA_LINE = "# s2: the same model, trained longer"


def _history(session_id: int, history: list[dict[str, Any]]) -> None:
    """Store HISTORY as the worker stores epochs."""
    from server.db import session_scope
    from server.models import TrainingSession

    with session_scope() as db:
        db.get(TrainingSession, session_id).history = history


def _epochs(losses: list[float], aucs: list[float]) -> list[dict[str, Any]]:
    return [
        {"epoch": i + 1, "loss": loss, "val_loss": loss + 0.05, "Train ROC AUC": auc + 0.01, "Test ROC AUC": auc}
        for i, (loss, auc) in enumerate(zip(losses, aucs, strict=True))
    ]


def test_a_person_tags_and_compares_two_sessions(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    page.locator('input[name="key"]').fill("CMP")
    page.click('button:has-text("Create project")')
    expect(page).to_have_url(f"{live.url}/projects/CMP")
    rows = "x,y,label\n" + "".join(f"{i},{(i * 7) % 11},{'ab'[i % 2]}\n" for i in range(40))
    files = {"file": {"name": "d.csv", "mimeType": "text/csv", "buffer": rows.encode()}}
    dataset = _api(page, "POST", "/projects/CMP/datasets", multipart={"name": "d", **files})
    analysis = _api(page, "POST", "/projects/CMP/analyses", data={"dataset_id": dataset["id"], "name": "a"})
    task = _api(page, "POST", f"/analyses/{analysis['id']}/ml-tasks", data={"target": "label"})
    first = _api(page, "POST", f"/ml-tasks/{task['id']}/train", data={})
    code = {**task["settings"]["code"], "architecture": task["settings"]["code"]["architecture"] + EXTRA_LINE + "\n"}
    _api(page, "PUT", f"/ml-tasks/{task['id']}/settings", data={"training": {"epochs": 4}, "code": code})
    second = _api(page, "POST", f"/ml-tasks/{task['id']}/train", data={})
    _history(first["id"], _epochs([0.7, 0.6], [0.8, 0.9]))
    _history(second["id"], _epochs([0.65, 0.5, 0.45, 0.4], [0.7, 0.75, 0.8, 0.85]))

    # Tag s1 on the results page; the sessions table's search finds it by its tag and its note.
    page.goto(f"/ml-tasks/{task['id']}?session={first['id']}")
    form = page.locator("#annotate-form")
    form.locator('input[name="tags"]').fill("baseline, short")
    form.locator('textarea[name="note"]').fill("two epochs only")
    form.locator("#annotate-button").click()
    tags_cell = page.locator(f'#sessions tr[data-session="{first["id"]}"] td[data-tags]')
    expect(tags_cell).to_contain_text("baseline")
    search = page.locator('[data-list-for="sessions"] input[type=search]')
    for words in ("BASELINE", "epochs only"):
        search.fill(words)
        expect(page.locator("#sessions tbody tr:visible")).to_have_count(1)
        expect(page.locator("#sessions tbody tr:visible")).to_have_attribute("data-session", str(first["id"]))
    search.fill("")

    # Tick both, compare.
    button = page.locator("#compare-button")
    page.check(f'input[name="sessions"][value="{first["number"]}"]')
    expect(button).to_be_disabled()  # one is not a comparison
    page.check(f'input[name="sessions"][value="{second["number"]}"]')
    button.click()
    page.wait_for_url(f"**/ml-tasks/{task['id']}/compare?**")
    chart = page.locator("#compare-chart")
    expect(page.locator("#curve-metric")).to_have_value("ROC AUC")  # the task's metric first
    expect(chart).to_have_attribute("data-curves", "4")  # two sessions × train and validation
    page.select_option("#curve-metric", "loss")
    expect(chart).to_have_attribute("data-curves", "4")
    expect(chart).to_have_attribute("data-metric", "loss")
    series = page.evaluate("window.fitCharts.compare.data.datasets.map((d) => [d.label, d.data.length])")
    assert series == [["s1 train", 2], ["s1 validation", 2], ["s2 train", 4], ["s2 validation", 4]]

    # Best per metric in its direction: AUC higher (s1's 0.9), loss lower (s2's 0.4).
    auc = page.locator('#compare-metrics tr[data-metric="Test ROC AUC"] td.best')
    expect(auc).to_have_count(1)
    expect(auc).to_have_attribute("data-session", str(first["number"]))
    expect(page.locator('#compare-metrics tr[data-metric="loss"] td.best')).to_have_attribute(
        "data-session", str(second["number"])
    )
    # The design diff: the epochs side by side, the architecture line by line.
    expect(page.locator('#settings-diff tr[data-path="training.epochs"] td').last).to_have_text("4")
    expect(page.locator("pre.diff span.added")).to_have_text([f"+{EXTRA_LINE}"])
    shot(page, live, "compare")
