"""TensorBoard in a real browser (Debian's Chromium driven by Playwright) while a session trains: a person opens the
results page, follows its TensorBoard link and sees the epochs' scalars arrive. The screenshot is
docs/screenshots/tensorboard.png when $FITSTUDIO_TEST_SCREENSHOTS points there (tests/webui/test_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import helpers
from tests.webui import test_browser
from tests.webui.test_browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, WIDE, Live, shot

live = test_browser.live  # the same server and worker fixture (one of its own for this module)

pytestmark = pytest.mark.slow

# Slow enough epochs that the session is still training while the person looks.
SLOW_TRAINING = """
import time

import keras


class Slow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.5)  # on purpose: the training lasts while the test looks at it


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    return build_train_sequence_with_batch_size(32), build_validation_sequence_with_batch_size(32)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    callbacks = base_callbacks + [keras.callbacks.TensorBoard(log_dir="./logs"), Slow()]
    model.fit(train_sequence, epochs=400, validation_data=validation_sequence, callbacks=callbacks)
"""


@pytest.fixture
def training(live: Live) -> Iterator[dict[str, Any]]:
    """Project TB with the demo dataset and an ML task training SLOW_TRAINING (aborted at the end), owned by ada."""
    from server.db import session_scope
    from server.services import auth
    from server.services.bootstrap import demo_bytes

    with session_scope() as db:
        token = auth.create_token(db, auth.get_user(db, "ada"), "tensorboard-test")
    api = httpx.Client(base_url=f"{live.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert api.post("/projects", json={"key": "TB", "name": "TensorBoard"}).status_code == 201
    files = {"file": ("bc.csv", demo_bytes("breast_cancer").getvalue(), "text/csv")}
    ds = api.post("/projects/TB/datasets", data={"name": "bc"}, files=files).json()
    analysis = api.post("/projects/TB/analyses", json={"dataset_id": ds["id"]}).json()
    task = api.post(f"/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
    settings = task["settings"]
    settings["gpu"]["use_gpu"] = False
    settings["training"]["mode"] = "advanced"
    settings["code"]["training"] = SLOW_TRAINING
    assert api.put(f"/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    session = api.post(f"/ml-tasks/{task['id']}/train", json={}).json()
    try:
        yield {"api": api, "task": task, "session": session}
    finally:
        api.post(f"/sessions/{session['id']}/abort")
        api.close()


def test_tensorboard_shows_a_live_training(live: Live, training: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    api, sid, task = training["api"], training["session"]["id"], training["task"]

    def epochs() -> int:
        return len(api.get(f"/sessions/{sid}").json()["history"])

    helpers.wait_for(lambda: epochs() >= 3, 180, "three epochs")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport=WIDE, base_url=live.url).new_page()
            page.set_default_timeout(60_000)
            blocked: list[str] = []  # TensorBoard keeps its own CSP (inline scripts by hash): nothing may be refused
            page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
            page.goto(f"/ml-tasks/{task['id']}?session={sid}")
            page.fill('input[name="username"]', "ada")
            page.fill('input[name="password"]', PASSWORD)
            page.click('button:has-text("Log in")')
            link = page.locator("#tensorboard-link")
            expect(link).to_have_text("TensorBoard")
            page.goto(link.get_attribute("href") or "")
            # TensorBoard adds its dashboard as a fragment (#timeseries) once its page has loaded
            expect(page).to_have_url(re.compile(re.escape(f"{live.url}/sessions/{sid}/tensorboard/") + r"(#\w*)?$"))
            # TensorBoard's time series dashboard: a card per tag, for the base run and the user's runs.
            expect(page.get_by_text("Test ROC AUC").first).to_be_visible()
            expect(page.get_by_text("user/logs/train").first).to_be_visible()
            page.wait_for_timeout(1500)  # the charts draw
            assert api.get(f"/sessions/{sid}").json()["status"] == "running"  # live, not after the fact
            shot(page, live, "tensorboard", full=False)

            # The logs keep arriving while it trains: TensorBoard's own data API (the page's cookie) shows more epochs.
            def steps() -> int:
                r = page.request.get(
                    f"/sessions/{sid}/tensorboard/data/plugin/scalars/scalars?run=fitstudio&tag=Test%20ROC%20AUC"
                )
                assert r.status == 200, r.text()
                return len(r.json())

            first = steps()
            helpers.wait_for(lambda: steps() > first, 60, "more epochs in TensorBoard", every=1)
            assert not blocked, blocked
        finally:
            browser.close()
