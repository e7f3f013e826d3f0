"""Issue 19 in a real browser (Debian's Chromium driven by Playwright) against a real `fitstudio api` (no worker):
the "API" link's Swagger UI and ReDoc render from this server alone, pages have their favicon, and an unknown
address shows the styled 404 page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.webui import test_browser
from tests.webui.test_browser import PASSWORD, Live

pytestmark = pytest.mark.slow


page = test_browser.page  # Chromium at 1280×800, failing the test on JavaScript errors or CSP violations


@pytest.fixture
def watched(page: Any, live: Live) -> Iterator[Any]:
    """PAGE, also failing the test on any request that leaves this server, any asset that fails (a missing favicon
    is one) and any other console error; a page's own 404 is what the 404 test asks for."""
    elsewhere: list[str] = []
    failed: list[str] = []
    console: list[str] = []
    local = (live.url, "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else elsewhere.append(r.url))
    # net::ERR_ABORTED is the browser dropping a request of a page it left or closed (a clean-clone CI run saw the
    # favicon of /redoc so at the test's end), not an answer: a missing asset is its 404, counted below.
    page.on(
        "requestfailed",
        lambda r: None if r.failure == "net::ERR_ABORTED" else failed.append(f"{r.url}: {r.failure}"),
    )
    page.on(
        "response",
        lambda r: (
            failed.append(f"{r.url}: {r.status}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )
    page.on(
        "console",
        lambda m: (
            console.append(f"{page.url}: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource")  # counted by `failed`
            else None
        ),
    )
    yield page
    assert not elsewhere, f"requests that left the server: {elsewhere}"
    assert not failed, f"requests that failed: {failed}"
    assert not console, f"console errors: {console}"


def test_the_api_docs_render_offline(watched: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = watched
    page.goto("/login")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    page.click('header nav a:has-text("API")')
    expect(page).to_have_url(f"{live.url}/docs")
    operations = page.locator(".opblock-summary-path")
    expect(operations.filter(has_text="/api/v1/projects").first).to_be_visible()
    assert operations.count() > 20, "Swagger UI lists the API's operations"
    page.locator(".opblock-summary", has_text="/api/v1/projects").first.click()  # it is interactive too
    expect(page.locator(".opblock-body").first).to_be_visible()

    page.goto("/redoc")
    expect(page.locator("h1", has_text="fitstudio")).to_be_visible()
    expect(page.get_by_text("/api/v1/projects").first).to_be_attached()


def test_pages_have_a_favicon_and_unknown_addresses_the_styled_404(watched: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = watched
    page.goto("/login")
    icon = page.locator('link[rel="icon"]')
    assert icon.get_attribute("href") == "/static/favicon.svg"
    assert page.request.get(f"{live.url}/static/favicon.svg").ok and page.request.get(f"{live.url}/favicon.ico").ok

    response = page.goto("/no/such/page-19")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator(".errors-box")).to_contain_text("There is no page at /no/such/page-19.")
    expect(page.locator("header.top a.brand")).to_be_visible()  # the site's header and style, not raw JSON
    background = page.locator("header.top").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(29, 35, 48)", background
