"""Deleting with a confirmation, and lists that grow, in a real browser (Debian's Chromium driven by Playwright)
against a real `fitstudio api` server (no worker: nothing here trains).

A person creates a project typing its key in lower case (the form upper-cases it), finds and sorts datasets and
filters analyses in the project's lists, is told that a dataset an analysis uses cannot be deleted, cancels a delete
(the dataset stays), confirms one (back on the project, the dataset gone), sees an ML task's delete refused while
its session is queued and go through once it is aborted, and deletes the project.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.webui import test_browser
from tests.webui.test_browser import PASSWORD, Live, shot

page = test_browser.page  # Chromium at 1280×800, failing the test on JavaScript errors or CSP violations

pytestmark = pytest.mark.slow

# Names, row counts and upload order chosen so that sorting by name, by rows and the upload order all differ.
DATASETS = {"mid": 7, "zeta": 3, "alpha": 11}


def _csv(rows: int) -> bytes:
    return ("x,label\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(rows))).encode()


def _api(page: Any, method: str, path: str, **kw: Any) -> Any:
    """An API call from the logged-in page (its cookie, its CSRF token), as the page scripts make them."""
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    r = page.request.fetch(f"/api/v1{path}", method=method, headers={"X-CSRF-Token": csrf}, **kw)
    assert r.ok, (method, path, r.status, r.text())
    return r.json() if r.status != 204 else None


def _names(page: Any, table: str) -> list[str]:
    return [n.strip() for n in page.locator(f"#{table} tbody tr:visible td:first-child").all_inner_texts()]


def test_a_person_sorts_searches_and_deletes_with_a_confirmation(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    expect(page).to_have_url(f"{live.url}/")
    page.wait_for_load_state()  # the key field upper-cases what is typed once the page's scripts have run
    page.locator('input[name="key"]').press_sequentially("ops_1")
    expect(page.locator('input[name="key"]')).to_have_value("OPS_1")
    page.click('button:has-text("Create project")')
    expect(page).to_have_url(f"{live.url}/projects/OPS_1")

    ids = {}
    for name, rows in DATASETS.items():
        files = {"file": {"name": f"{name}.csv", "mimeType": "text/csv", "buffer": _csv(rows)}}
        ids[name] = _api(page, "POST", "/projects/OPS_1/datasets", multipart={"name": name, **files})["id"]
    analysis = _api(page, "POST", "/projects/OPS_1/analyses", data={"dataset_id": ids["mid"], "name": "on mid"})
    _api(page, "POST", "/projects/OPS_1/analyses", data={"dataset_id": ids["alpha"], "name": "on alpha"})
    page.reload()

    # The analyses list: a filter by the values of a column.
    filter_ = page.locator('[data-list-for="analyses-list"] select[data-list-filter="Dataset"]')
    assert filter_.locator("option").all_inner_texts() == ["Dataset: all", "alpha", "mid"]
    filter_.select_option("alpha")
    assert _names(page, "analyses-list") == ["on alpha"]
    filter_.select_option("")
    assert _names(page, "analyses-list") == ["on mid", "on alpha"]

    # The datasets list: search, then sort by a column header (numbers as numbers), then by name.
    tools = page.locator('[data-list-for="datasets-list"]')
    assert _names(page, "datasets-list") == ["mid", "zeta", "alpha"]
    tools.locator("input[type=search]").fill("ALP")
    assert _names(page, "datasets-list") == ["alpha"]
    expect(tools.locator("[data-list-count]")).to_have_text("1 of 3")
    tools.locator("input[type=search]").fill("")
    page.click('#datasets-list th button:has-text("Rows")')
    assert _names(page, "datasets-list") == ["zeta", "mid", "alpha"]
    expect(page.locator("#datasets-list th", has_text="Rows")).to_have_attribute("aria-sort", "ascending")
    shot(page, live, "list-tools", full=False)
    page.click('#datasets-list th button:has-text("Rows")')
    assert _names(page, "datasets-list") == ["alpha", "mid", "zeta"]
    page.click('#datasets-list th button:has-text("Name")')
    assert _names(page, "datasets-list") == ["alpha", "mid", "zeta"]
    page.click('#datasets-list th button:has-text("Name")')
    assert _names(page, "datasets-list") == ["zeta", "mid", "alpha"]

    # A dataset an analysis uses: the dialog says why it cannot go, and offers no Delete.
    dialog = page.locator("dialog#delete-dialog")
    page.goto(f"/datasets/{ids['mid']}")
    page.click("button[data-delete]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Dataset mid cannot be deleted: it is used by 1 analysis; delete those first.")
    expect(dialog.locator("button.confirm")).to_be_hidden()
    dialog.locator("button.cancel").click()
    expect(dialog).to_be_hidden()

    # Cancel keeps it; confirm deletes it and goes back to the project.
    page.goto(f"/datasets/{ids['zeta']}")
    page.click("button[data-delete]")
    expect(dialog).to_contain_text("Deleting dataset zeta also deletes nothing else. This cannot be undone.")
    dialog.locator("button.cancel").click()
    expect(dialog).to_be_hidden()
    assert page.request.get(f"/api/v1/datasets/{ids['zeta']}").status == 200
    page.click("button[data-delete]")
    dialog.locator("button.confirm").click()
    page.wait_for_url(f"{live.url}/projects/OPS_1#datasets")
    assert sorted(_names(page, "datasets-list")) == ["alpha", "mid"]
    assert page.request.get(f"/api/v1/datasets/{ids['zeta']}").status == 404

    # An ML task with a queued session: the dialog counts it, the API's 409 shows in the dialog, then it goes.
    task = _api(page, "POST", f"/analyses/{analysis['id']}/ml-tasks", data={"target": "label", "name": "busy"})
    session = _api(page, "POST", f"/ml-tasks/{task['id']}/train", data={})
    page.goto(f"/analyses/{analysis['id']}")
    page.click(f'button[data-delete="/api/v1/ml-tasks/{task["id"]}"]')
    expect(dialog).to_contain_text("Deleting ML task busy also deletes its 1 session.")
    shot(page, live, "delete-dialog", full=False)
    dialog.locator("button.confirm").click()
    expect(dialog.locator(".errors-box")).to_contain_text("abort it first")
    expect(dialog).to_be_visible()
    _api(page, "POST", f"/sessions/{session['id']}/abort")
    dialog.locator("button.confirm").click()
    page.wait_for_url(f"{live.url}/analyses/{analysis['id']}")
    expect(page.locator("#tasks-list")).to_have_count(0)
    assert page.request.get(f"/api/v1/ml-tasks/{task['id']}").status == 404

    # The project, with all it holds.
    page.goto("/projects/OPS_1")
    page.click('button[data-delete="/api/v1/projects/OPS_1"]')
    expect(dialog).to_contain_text("Deleting project OPS_1 also deletes its 2 datasets and 2 analyses.")
    dialog.locator("button.confirm").click()
    page.wait_for_url(f"{live.url}/")
    assert page.request.get("/api/v1/projects/OPS_1").status == 404
