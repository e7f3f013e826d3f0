"""The dataset page's columns: type, missing, distinct, hints, histograms, and the type selector (no browser)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.server.api import support
from tests.webui.conftest import Web, location

ROWS = 60


@pytest.fixture
def dataset_id(web: Web) -> int:
    """Project P1 with a Parquet dataset: an id, a constant, a mostly-missing number, a number, dates, a code."""
    assert location(web.post("/projects", {"key": "P1", "name": "First"})) == "/projects/P1"
    payload = support.parquet_bytes(
        {
            "customer_id": [f"C{i:03d}" for i in range(ROWS)],
            "plan": ["basic"] * ROWS,
            "score": [float(i) if i % 4 == 0 else None for i in range(ROWS)],
            "x": [i % 10 for i in range(ROWS)],
            "signup": [f"2024-03-{i % 28 + 1:02d}" for i in range(ROWS)],
            "code": ["n/a" if i % 10 == 0 else str(i % 7) for i in range(ROWS)],
        }
    )
    r = web.client.post(
        "/api/v1/projects/P1/datasets",
        data={"name": "messy"},
        files={"file": ("messy.parquet", payload, "application/octet-stream")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _row(page: str, name: str) -> str:
    match = re.search(rf'<tr data-column="{name}">(.*?)</tr>', page, re.S)
    assert match, name
    return match.group(1)


def test_the_page_shows_types_stats_hints_and_histograms(web: Web, dataset_id: int) -> None:
    page = web.get(f"/datasets/{dataset_id}").text
    ident = _row(page, "customer_id")
    assert "hint-id_like" in ident and "hint-high_cardinality" not in ident
    assert re.search(r'class="stat-distinct">\s*60<', ident)
    assert "hint-constant" in _row(page, "plan") and "basic (60)" in _row(page, "plan")
    score = _row(page, "score")
    assert "hint-mostly_missing" in score and re.search(r'class="stat-missing">45 ', score)
    x = _row(page, "x")
    assert "0 – 9, mean 4.5" in x and 'data-histogram="x"' in x
    assert "hint-date_like" in _row(page, "signup")
    assert '<option value="numeric" selected>' in x and "/api/v1/datasets/" in x
    data = re.search(r'<script type="application/json" id="column-histograms">(.*?)</script>', page, re.S)
    assert data is not None
    histograms = json.loads(data.group(1))
    assert sum(histograms["x"]["counts"]) == ROWS and histograms["plan"] is None
    assert "/static/js/columns.js" in page


def test_the_type_selector_patch_works_with_the_cookie_and_csrf_header(web: Web, dataset_id: int) -> None:
    url = f"/api/v1/datasets/{dataset_id}/columns/code"
    refused = web.client.patch(url, json={"type": "numeric"})
    assert refused.status_code == 403
    r = web.client.patch(url, json={"type": "numeric"}, headers={"x-csrf-token": web.csrf, "x-requested-with": "fetch"})
    assert r.status_code == 200, r.text
    assert r.json()["unparseable"] == ROWS // 10
    code = _row(web.get(f"/datasets/{dataset_id}").text, "code")
    assert f"{ROWS // 10} unparseable" in code and '<option value="numeric" selected>' in code


def test_readers_see_the_types_without_a_selector(web: Web, dataset_id: Any) -> None:
    web.api.user("rita", "P1", "reader")
    reader = Web(web.client.__class__(web.client.app), web.api)
    reader.login("rita", "pw-rita")
    page = reader.get(f"/datasets/{dataset_id}").text
    assert "hint-id_like" in page and 'class="column-type"' not in page
