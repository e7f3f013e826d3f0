"""The results page's "Continue training" button in a real browser (Debian's Chromium driven by Playwright) against a
real server and worker: a finished session trains 2 more epochs from its final state, shown as the session it
continues (issue 20)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from tests.webui import test_browser, test_browser_session_live
from tests.webui.test_browser import PASSWORD, Live

live = test_browser.live  # a server and worker of this module's own
page = test_browser.page  # Chromium, failing the test on any JavaScript error or CSP violation
api = test_browser_session_live.api  # ada's API client with project LIVE and the demo dataset

pytestmark = pytest.mark.slow


def _wait(api: httpx.Client, session_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        body = api.get(f"/sessions/{session_id}").json()
        if body["status"] in ("succeeded", "failed", "aborted"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"session {session_id} did not end")


def _trained_session(api: httpx.Client) -> dict[str, Any]:
    """A standard-mode session of 2 epochs on the demo data, trained by the worker."""
    dataset = api.get("/projects/LIVE/datasets").json()[0]
    analysis = api.post("/projects/LIVE/analyses", json={"dataset_id": dataset["id"]}).json()
    task = api.post(f"/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
    settings = task["settings"]
    settings["gpu"]["use_gpu"] = False
    settings["training"]["epochs"] = 2
    assert api.put(f"/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    session = _wait(api, api.post(f"/ml-tasks/{task['id']}/train", json={}).json()["id"])
    assert session["status"] == "succeeded", session["error"]
    return session


def test_a_person_continues_a_finished_session_for_more_epochs(page: Any, live: Live, api: httpx.Client) -> None:
    from playwright.sync_api import expect

    source = _trained_session(api)
    page.goto(f"/ml-tasks/{source['ml_task_id']}?session={source['id']}")
    if "/login" in page.url:
        page.fill('input[name="username"]', "ada")
        page.fill('input[name="password"]', PASSWORD)
        page.click('button:has-text("Log in")')
        page.goto(f"/ml-tasks/{source['ml_task_id']}?session={source['id']}")
    expect(page.locator("#continued-from")).to_have_count(0)
    page.fill('#continue-form input[name="epochs"]', "2")
    page.click("#continue-button")
    page.wait_for_url(re.compile(rf".*\?session=(?!{source['id']}$)\d+$"))
    new_id = int(page.url.rsplit("=", 1)[1])
    link = page.locator("#continued-from a")
    expect(link).to_have_text(f"session s{source['number']}")
    assert link.get_attribute("href") == f"/ml-tasks/{source['ml_task_id']}?session={source['id']}"
    final = _wait(api, new_id)
    assert final["status"] == "succeeded", final["error"]
    assert [h["epoch"] for h in final["history"]] == [1, 2, 3, 4]
    assert final["continued_from"] == source["id"]
    page.reload()
    expect(page.locator("#session-detail h2")).to_contain_text(f"Session s{source['number'] + 1}")
    expect(page.locator("#continued-from")).to_be_visible()
    test_browser.shot(page, live, "continued_session", full=False)
