"""A session watched live in a real browser (Debian's Chromium driven by Playwright) against a real server and
worker: the phases of its start show as they happen, and the page a live session ends on is the page a reload
shows, for an interrupted session and for a failed one (issue 19, items 2 and 3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.webui import test_browser
from tests.webui.test_browser import PASSWORD, Live
from webui.web import fmt_num

live = test_browser.live  # the same server and worker fixture (one of its own for this module)
page = test_browser.page  # Chromium, failing the test on any JavaScript error or CSP violation

pytestmark = pytest.mark.slow

# Epochs slow enough that the person can interrupt the training while it runs.
SLOW_TRAINING = """
import time

import keras


class Slow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.4)  # on purpose: the training lasts while the test looks at it


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    return build_train_sequence_with_batch_size(64), build_validation_sequence_with_batch_size(64)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    model.fit(train_sequence, epochs=300, validation_data=validation_sequence, callbacks=base_callbacks + [Slow()])
"""

# An architecture cell that fails at its line 3, once the data is loaded: the session ends failed.
FAILING_ARCHITECTURE = """
def build_model(input_shapes, n_classes=None):
    raise ValueError("no layer width chosen yet")


def compile_model(model):
    return model
"""

START_PHASES = ["queued", "starting", "loading_data", "preprocessing", "building_model"]
PHASE_LABEL = re.compile(r"^(Queued|Starting|Loading data|Preprocessing|Building the model)…$")


@pytest.fixture
def api(live: Live) -> Iterator[httpx.Client]:
    """ada's API client, with project LIVE and the demo dataset."""
    from server.db import session_scope
    from server.services import auth
    from server.services.bootstrap import demo_bytes

    with session_scope() as db:
        token = auth.create_token(db, auth.get_user(db, "ada"), "session-live-test")
    client = httpx.Client(base_url=f"{live.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if client.get("/projects/LIVE").status_code == 404:
        assert client.post("/projects", json={"key": "LIVE", "name": "Live"}).status_code == 201
        files = {"file": ("bc.csv", demo_bytes("breast_cancer").getvalue(), "text/csv")}
        assert client.post("/projects/LIVE/datasets", data={"name": "bc"}, files=files).status_code == 201
    yield client
    client.close()


def make_task(api: httpx.Client, code: dict[str, str]) -> str:
    """A new analysis and ML task on the demo data, trained on the CPU in advanced mode with CODE; its id."""
    dataset = api.get("/projects/LIVE/datasets").json()[0]
    analysis = api.post("/projects/LIVE/analyses", json={"dataset_id": dataset["id"]}).json()
    task = api.post(f"/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
    settings = task["settings"]
    settings["gpu"]["use_gpu"] = False
    settings["training"]["mode"] = "advanced"
    settings["code"].update(code)
    r = api.put(f"/ml-tasks/{task['id']}/settings", json=settings)
    assert r.status_code == 200, r.text
    return str(task["id"])


def train_in_the_browser(page: Any, live: Live, task_id: str) -> int:
    """Log in as ada on TASK_ID's results page and press Train; the new session's id."""
    page.goto(f"/ml-tasks/{task_id}")
    if "/login" in page.url:
        page.fill('input[name="username"]', "ada")
        page.fill('input[name="password"]', PASSWORD)
        page.click('button:has-text("Log in")')
    page.click('button:has-text("Train again")')
    page.wait_for_url(re.compile(r".*\?session=\d+$"))
    return int(page.url.rsplit("=", 1)[1])


def panel_as_shown(page: Any, session_id: int) -> tuple[str, str]:
    """The session panel's and its table row's visible text, the training log folded (a reload folds it)."""
    page.evaluate("document.getElementById('log-box').open = false")
    return (
        page.locator("#session-detail").inner_text(),
        page.locator(f'tr[data-session="{session_id}"]').inner_text(),
    )


def test_the_start_shows_its_phases_live_and_an_interrupted_end_equals_a_reload(
    page: Any, live: Live, api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    sid = train_in_the_browser(page, live, make_task(api, {"training": SLOW_TRAINING}))
    panel = page.locator('#session-detail[data-live="true"]')
    # Not "Epoch 0 / 300" while nothing trains: the phase it is in.
    expect(panel.locator("#progress-label")).to_have_text(PHASE_LABEL)
    # The phases arrive live (the panel is still the live one: no reload), each with its time.
    for phase in START_PHASES + ["training"]:
        expect(panel.locator(f'#phases li[data-phase="{phase}"] [data-seconds]')).to_have_text(
            re.compile(r"^\d+\.\ds$"), timeout=180_000
        )
    expect(page.locator("#session-detail")).to_have_attribute(
        "data-live-epochs", re.compile(r"^([3-9]|\d\d+)$"), timeout=120_000
    )
    expect(panel.locator("#progress-label")).to_have_text(re.compile(r"^Epoch \d+ / 300$"))
    expect(panel.locator("#charts")).to_be_visible()
    log = page.locator("#log")
    expect(log).to_contain_text(re.compile(r"\[fitstudio\] loading data: 569 rows \(\d+\.\d s\)"))
    expect(log).to_contain_text(re.compile(r"\[fitstudio\] building the model \(\d+\.\d s\)"))

    # The table's metric is the kept epoch's (the best so far), not the last one's: read with the epochs seen.
    seen = page.evaluate(
        "() => [document.querySelector('#session-detail').dataset.liveEpochs,"
        f" document.querySelector('tr[data-session=\"{sid}\"] [data-metric]').lastChild.textContent]"
    )
    history = api.get(f"/sessions/{sid}").json()["history"][: int(seen[0])]
    assert seen[1].strip() == fmt_num(max(h["Test ROC AUC"] for h in history)), (seen, history)

    page.click("#interrupt-button")
    expect(page.locator("#session-detail")).to_have_attribute("data-ended", "succeeded", timeout=120_000)
    ended = page.locator("#session-detail")
    expect(ended.locator("#interrupted-mark")).to_have_text("interrupted")
    expect(ended.locator("#open-model")).to_be_visible()
    shown = [li.get_attribute("data-phase") for li in ended.locator("#phases li").all()]
    assert shown == START_PHASES + ["training", "saving", "evaluating"], shown
    live_end = panel_as_shown(page, sid)

    page.reload()
    expect(page.locator("#session-detail")).to_have_attribute("data-live", "false")
    assert panel_as_shown(page, sid) == live_end
    body = api.get(f"/sessions/{sid}").json()
    assert body["interrupted"] is True and body["queue_position"] is None
    assert [p["phase"] for p in body["progress"]["phases"]] == shown


def test_a_failed_end_shows_the_frozen_cell_and_traceback_as_a_reload_does(
    page: Any, live: Live, api: httpx.Client
) -> None:
    from playwright.sync_api import expect

    sid = train_in_the_browser(page, live, make_task(api, {"architecture": FAILING_ARCHITECTURE}))
    # Live first (its start takes seconds; building the model, where it fails, a fraction of one).
    expect(page.locator('#session-detail[data-live="true"] #phases li[data-phase="starting"]')).to_be_visible()
    expect(page.locator("#session-detail")).to_have_attribute("data-ended", "failed", timeout=120_000)
    ended = page.locator("#session-detail")
    expect(ended.locator(".errors-box")).to_contain_text("no layer width chosen yet")
    expect(ended.locator('a:has-text("fix it in the design")')).to_be_visible()
    expect(ended.locator('.editor.readonly[data-editor-for="architecture"]')).to_be_visible()
    expect(ended.locator("summary", has_text="Traceback")).to_be_visible()
    expect(ended.locator("#charts")).to_be_hidden()  # no epoch: no empty charts
    live_end = panel_as_shown(page, sid)

    page.reload()
    expect(page.locator("#session-detail")).to_have_attribute("data-live", "false")
    assert panel_as_shown(page, sid) == live_end
    assert api.get(f"/sessions/{sid}").json()["progress"]["phase"] == "building_model"
