"""Issue 19, server-side: /docs and /redoc reference only this server's assets (which answer), the favicon, and
unknown URLs answering the styled 404 page to browsers and {detail, code} JSON to API clients."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.webui.conftest import Web

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _asset_urls(html: str) -> list[str]:
    """Every src= / href= URL and every quoted URL a page's inline script names."""
    return re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)


def test_docs_and_redoc_load_only_local_assets_that_answer(api: Api) -> None:
    client = TestClient(api.client.app)
    expected = {"/docs": "swagger-ui-bundle.js", "/redoc": "redoc.standalone.js"}
    for page, script in expected.items():
        r = client.get(page)
        assert r.status_code == 200, page
        urls = _asset_urls(r.text)
        assert any(u.endswith(script) for u in urls), (page, urls)
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from elsewhere"
            if url == "/openapi.json":
                continue
            asset = client.get(url)
            assert asset.status_code == 200, url
            kind = asset.headers["content-type"]
            assert any(k in kind for k in ("javascript", "text/css", "image/")), (url, kind)
            assert len(asset.content) > 1000, url
        csp = r.headers["content-security-policy"]
        assert "https:" not in csp and "cdn" not in csp, csp
    redoc = client.get("/docs-assets/redoc.standalone.js").text
    assert "cdn.redoc.ly" not in redoc and "https://" not in redoc.split("redocly logo")[1][:200]  # its logo image
    assert client.get("/openapi.json").json()["info"]["title"] == "fitstudio"
    assert "oauth2" in client.get("/docs/oauth2-redirect").text.lower()


def test_favicon_is_linked_from_every_page_and_answers(web: Web) -> None:
    page = web.get("/")
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    for path in ("/static/favicon.svg", "/favicon.ico"):
        r = web.client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("image/svg+xml") and b"<svg" in r.content, path
    assert '<link rel="icon"' in web.client.get("/login").text  # logged out, the login page has it too


def test_unknown_url_answers_a_page_to_browsers_and_json_to_programs(web: Web) -> None:
    r = web.client.get("/no/such/page-19", headers={"accept": BROWSER_ACCEPT})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in r.text and "There is no page at /no/such/page-19." in r.text
    assert 'class="who">owner<' in r.text, "the logged-in user keeps the header's navigation"
    assert "script-src 'self';" in r.headers["content-security-policy"]

    anonymous = TestClient(web.client.app).get("/nope-19", headers={"accept": BROWSER_ACCEPT})
    assert anonymous.status_code == 404 and "<h1>Not found</h1>" in anonymous.text
    assert 'class="who"' not in anonymous.text

    for headers in ({}, {"accept": "application/json"}, {"accept": "*/*"}):
        r = web.client.get("/no/such/page-19", headers=headers)
        assert r.status_code == 404 and r.json() == {
            "detail": "No such path; see /docs for the API.",
            "code": "not_found",
        }
    for path in ("/api/v1/no-such-thing-19", "/api"):  # the API's own paths answer JSON even to a browser
        r = web.client.get(path, headers={"accept": BROWSER_ACCEPT})
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    fetch = web.client.get("/nope-19", headers={"accept": BROWSER_ACCEPT, "x-requested-with": "fetch"})
    assert fetch.status_code == 404 and fetch.json()["code"] == "not_found"
    missing_asset = web.client.get("/static/nope-19.js", headers={"accept": "*/*"})
    assert missing_asset.status_code == 404 and missing_asset.json()["code"] == "not_found"
    wrong_method = web.client.delete("/workers", headers={"accept": BROWSER_ACCEPT})
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
