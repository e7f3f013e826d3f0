"""A person in a real browser (Debian's Chromium driven by Playwright) against a real server and worker.

They log in, upload the demo CSV, create an analysis and an ML task, switch to advanced mode, paste code with a
syntax error and see it flagged at its line, fix it, train, watch the epoch chart fill in live, open the trained
model, copy the snippet, deploy, activate a version and score a row. Screenshots of each main page are saved to
$FITSTUDIO_TEST_SCREENSHOTS (docs/screenshots/ when refreshing the docs; a temporary folder otherwise).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.webui.conftest import serve_api

pytestmark = pytest.mark.slow
T0 = time.monotonic()

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 420, "height": 860}
PASSWORD = "correct horse battery"

BROKEN = """\
def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    train_sequence = build_train_sequence_with_batch_size(16)
    validation_sequence = build_validation_sequence_with_batch_size(16)
    return train_sequence, validation_sequence

def fit_model(model, train_sequence, validation_sequence, base_callbacks)
    model.fit(train_sequence, epochs=3, callbacks=base_callbacks, validation_data=validation_sequence)
"""
FIXED = BROKEN.replace("base_callbacks)\n", "base_callbacks):\n", 1)


def browser_problem() -> str | None:
    """None when Playwright and Debian's Chromium are both there, else what is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the Python package playwright is not installed ({exc}); pip install -e '.[test]'"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing; scripts/test.sh installs it with apt-get install chromium"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """A running API server and worker on one FITSTUDIO_HOME, and where screenshots go."""

    url: str
    shots: Path
    log: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`fitstudio api` on a free port and `fitstudio worker` (SQLite + embedded broker), with user ada."""
    helpers.require_service("Chromium + Playwright", browser_problem())
    from server.db import session_scope
    from server.services import auth
    from server.services.bootstrap import migrate
    from tests.conftest import configure

    base = tmp_path_factory.mktemp("webui")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    mp = pytest.MonkeyPatch()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        settings = configure(mp, base / "home", public_url=url, training_memory_mb="3000")
        migrate(settings)
        with session_scope() as db:
            auth.create_user(db, "ada", password=PASSWORD)
        log = base / "processes.log"
        procs.append(helpers.start_worker(f"webui-{os.getpid()}", queues="gpu,cpu", log=log))
        procs.append(serve_api(url, log))  # tests/webui/conftest.py: the same start-up as the API-only `live`
        shots = Path(os.environ.get("FITSTUDIO_TEST_SCREENSHOTS") or base / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        yield Live(url, shots, log)
    finally:
        for proc in procs:
            helpers.stop_process(proc)
        mp.undo()
        from server.settings import get_settings

        get_settings.cache_clear()


@pytest.fixture
def page(live: Live) -> Iterator[Any]:
    """A Chromium page at 1280×800 that may use the clipboard."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=WIDE, base_url=live.url)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
        context.set_default_timeout(30_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.on("dialog", lambda dialog: dialog.accept())
        try:
            yield page
        finally:
            browser.close()
        assert not errors, f"JavaScript errors or CSP violations on the pages: {errors}"


def shot(page: Any, live: Live, name: str, full: bool = True) -> None:
    """Save a screenshot NAME.png of the page (scrolled through first, so the code editors measure every line)."""
    if full:
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(150)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(150)
    page.screenshot(path=str(live.shots / f"{name}.png"), full_page=full)
    print(f"{time.monotonic() - T0:6.1f}s {name}", flush=True)


def replace_code(page: Any, cell: str, code: str) -> None:
    """Select all the code of an editor and type CODE over it, as a paste does."""
    content = page.locator(f'.editor[data-editor-for="{cell}"] .cm-content')
    content.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)


def test_a_person_trains_deploys_and_scores_in_the_browser(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    from server.services.bootstrap import demo_bytes

    csv = live.log.parent / "breast_cancer.csv"
    csv.write_bytes(demo_bytes("breast_cancer").getvalue())

    # Log in.
    page.goto("/")
    expect(page).to_have_url(f"{live.url}/login?next=%2F")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    shot(page, live, "login")
    page.click('button:has-text("Log in")')
    expect(page.locator("h1")).to_have_text("Projects")

    # A project, the demo CSV with a progress bar, its schema and preview.
    page.fill('input[name="key"]', "CANCER")
    page.fill('input[name="name"]', "Breast cancer")
    page.click('button:has-text("Create project")')
    expect(page).to_have_url(f"{live.url}/projects/CANCER")
    page.wait_for_load_state()  # upload.js listens for the file input from DOMContentLoaded on
    page.set_input_files('#upload-form input[type="file"]', str(csv))
    expect(page.locator('#upload-form input[name="name"]')).to_have_value("breast_cancer")
    page.click('#upload-form button[type="submit"]')
    page.wait_for_url("**/datasets/*")
    expect(page.locator("table.preview tbody tr")).to_have_count(50)
    expect(page.locator(".page-head")).to_contain_text("569 rows")
    shot(page, live, "dataset")

    # An analysis, and an ML task whose prediction type is proposed from the target.
    page.click('.crumbs a:has-text("CANCER")')
    page.click('button:has-text("Create analysis")')
    page.wait_for_url("**/analyses/*")
    page.select_option('#new-task select[name="target"]', "diagnosis")
    expect(page.locator("#new-task .proposal")).to_contain_text("Proposed: binary")
    expect(page.locator('#new-task select[name="prediction_type"]')).to_have_value("binary")
    shot(page, live, "analysis")
    page.click('button:has-text("Create ML task")')
    page.wait_for_url("**/design")
    shot(page, live, "design-features")

    # Advanced mode: a syntax error is flagged at its line, then fixed.
    page.click("#tab-training")
    page.check("#advanced-switch")
    expect(page.locator('.editor[data-editor-for="training"] .cm-content')).to_contain_text("def fit_model")
    replace_code(page, "training", BROKEN)
    page.click('button[data-action="validate"]')
    expect(page.locator("#design-errors")).to_contain_text("training cell, line 6: SyntaxError")
    flagged = page.locator('.editor[data-editor-for="training"] .cm-line').nth(5).locator(".cm-lintRange-error")
    expect(flagged).to_have_count(1)
    expect(page.locator("#tab-training")).to_have_class("has-error")
    shot(page, live, "design-error", full=False)
    replace_code(page, "training", FIXED)
    page.click('button[data-action="validate"]')
    expect(page.locator("#design-ok")).to_have_text("The design is valid.")
    expect(page.locator('.editor[data-editor-for="training"] .cm-lintRange-error')).to_have_count(0)

    # The architecture tab shows the inputs build_model receives.
    page.click("#tab-architecture")
    page.click('button[data-action="inputs"]')
    expect(page.locator("#inputs-out")).to_have_text('input_shapes["main"] = (30,)')
    shot(page, live, "design-architecture", full=False)

    # Train: the session shows at once, not yet ended (queued, or running when an idle worker claimed it within
    # milliseconds); the charts fill in live from the events.
    with page.expect_navigation() as navigation:
        page.click("#train-button")
    shown = re.search(r'class="badge (\w+)" data-status>(\w+)<', navigation.value.text())
    assert shown and shown.group(1) == shown.group(2) and shown.group(1) in ("queued", "running"), shown
    # At least one epoch arrived live (a fast training may deliver several between two looks).
    expect(page.locator("#session-detail")).to_have_attribute(
        "data-live-epochs", re.compile(r"^[1-9][0-9]*$"), timeout=120_000
    )
    shot(page, live, "results-live")
    workers = page.context.new_page()  # a second tab: the worker shows the session it is training
    workers.goto("/workers")
    expect(workers.locator("#workers")).to_contain_text("webui-")
    shot(workers, live, "workers")
    workers.close()
    expect(page.locator("#session-detail")).to_have_attribute("data-ended", "succeeded", timeout=120_000)
    expect(page.locator("#metric-chart")).to_have_attribute("data-points", "3")
    assert int(page.locator("#session-detail").get_attribute("data-live-epochs")) >= 1
    expect(page.locator("#log")).to_contain_text("[fitstudio]")
    expect(page.locator("tr.selected [data-status]")).to_have_text("succeeded")
    shot(page, live, "results")

    # The trained model: metrics, charts, evaluation, frozen code, location; copy the snippet.
    page.click("#open-model")  # the ended panel as a reload renders it (live.js swaps it in at the end)
    page.wait_for_url("**/trained-models/*")
    expect(page.locator("#metrics")).to_contain_text("ROC AUC")
    expect(page.locator("#confusion-matrix")).to_be_visible()
    expect(page.locator("#roc-chart")).to_have_attribute("data-curves", "1")
    expect(page.locator('.editor.readonly[data-editor-for="training"]')).to_contain_text("validation_data")
    expect(page.get_by_text("Submitted by")).to_be_visible()
    page.click('button[data-copy="#location-snippet"]')
    expect(page.locator('button[data-copy="#location-snippet"]')).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    tm_id = page.url.rsplit("/", 1)[1]
    _, _project, analysis_id, mltask_id, *_ = tm_id.split("-")
    assert (
        f'get_keras_model_from_trained_model(session_id="s1", analysis_id="{analysis_id}", mltask_id="{mltask_id}")'
        in copied
    )
    shot(page, live, "trained-model")
    model_url = page.url
    # Its model card (issue 20): standalone, with the versions and seeds the training recorded.
    page.goto(page.locator("#model-card-link").get_attribute("href"))
    expect(page.locator("#card-versions")).to_contain_text("tensorflow")
    expect(page.locator("#card-seeds")).to_contain_text("1337")
    shot(page, live, "model-card")
    page.goto(model_url)

    # Deploy twice (the second version not active), then make the second one active.
    page.fill('#deploy-form input[name="saved_model_name"]', "cancer")
    page.click('#deploy-form button[type="submit"]')
    page.wait_for_url("**/saved-models/*")
    expect(page.locator('tr[data-version="v1"] .badge.active')).to_be_visible()
    page.goto(model_url)
    page.select_option("#deploy-target", label="a new version of “cancer”")
    page.uncheck('#deploy-form input[name="activate"]')
    page.click('#deploy-form button[type="submit"]')
    page.wait_for_url("**/saved-models/*?deployed=v2")
    expect(page.locator('tr[data-version="v2"] .badge.active')).to_have_count(0)
    page.click('tr[data-version="v2"] button:has-text("Make active")')
    expect(page.locator('tr[data-version="v2"] .badge.active')).to_be_visible()

    # Score a row (prefilled with the dataset's first row) with the active version.
    page.click('#score-form button[type="submit"]')
    expect(page.locator("#score-prediction")).to_have_text(re.compile("^(malignant|benign)$"), timeout=60_000)
    expect(page.locator("#score-result")).to_contain_text("(version v2)")
    shot(page, live, "saved-model")

    page.goto("/projects/CANCER")
    shot(page, live, "project")

    # A narrow window: the same pages stay usable (nothing wider than the screen but scrollable tables).
    page.set_viewport_size(NARROW)
    for path, name in (
        (page.url, "narrow-project"),
        (f"/ml-tasks/{mltask_id}", "narrow-results"),
        (f"/ml-tasks/{mltask_id}/design", "narrow-design"),
        (model_url, "narrow-trained-model"),
    ):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name}: the page is {overflow}px wider than the window"
        shot(page, live, name)

    page.set_viewport_size(WIDE)
    page.click('button:has-text("Log out")')
    expect(page).to_have_url(f"{live.url}/login")
