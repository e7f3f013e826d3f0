"""The dataset upload's CSV preview without a browser: the form's fields, and what csv_preview.js and upload.js
send (the browser journey is tests/webui/test_browser_upload.py)."""

from __future__ import annotations

import re

from server.services import csv_options, csv_source
from tests.webui.conftest import Web, location
from tests.webui.test_browser_upload import kunden_csv


def test_the_project_page_has_the_preview_fields_and_scripts(web: Web) -> None:
    assert location(web.post("/projects", {"key": "P1", "name": "First"})) == "/projects/P1"
    page = web.get("/projects/P1").text
    fieldset = re.search(r'<fieldset id="csv-preview".*?</fieldset>', page, re.S)
    assert fieldset and " hidden " in fieldset.group(0) and 'data-url="/api/v1/projects/P1/datasets/sniff"' in page
    names = re.findall(r'name="(\w+)" data-reading-option', fieldset.group(0))
    assert tuple(names) == csv_options.OPTION_FIELDS
    assert page.index("/static/js/csv_preview.js") < page.index("/static/js/upload.js")


def test_what_the_page_scripts_send_previews_then_uploads_with_the_changed_option(web: Web) -> None:
    assert location(web.post("/projects", {"key": "P1", "name": "First"})) == "/projects/P1"
    rows = kunden_csv().split(b"\r\n", 1)[1]
    big = kunden_csv() + rows * (csv_source.HEAD_BYTES // len(rows))
    head = big[: csv_source.HEAD_BYTES]  # what File.slice sends of a file over 4 MiB: cut inside a line
    assert len(big) > len(head) and not head.endswith(b"\n")
    files = {"file": ("kunden.csv", head, "text/csv")}
    sniff = "/api/v1/projects/P1/datasets/sniff"
    assert web.client.post(sniff, files=files).status_code == 403  # a cookie write needs the CSRF header
    r = web.client.post(sniff, files=files, headers={"x-csrf-token": web.csrf, "x-requested-with": "fetch"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["source"]["delimiter"], body["source"]["decimal"], body["source"]["encoding"]) == (";", ",", "cp1252")
    assert [c["name"] for c in body["columns"]] == ["kunde", "stadt", "umsatz", "menge", "kennung"]
    assert body["source"]["ambiguous"] and body["rows"][1][:3] == ["K001", "Köln", 4.01]
    r = web.client.post(
        "/api/v1/projects/P1/datasets",
        data={"name": "kunden", "encoding": "latin-1"},
        files={"file": ("kunden.csv", kunden_csv(), "text/csv")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    source = r.json()["source"]
    assert source["encoding"] == "iso8859-1" and "encoding" not in source["detected"] and not source["ambiguous"]
