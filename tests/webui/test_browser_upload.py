"""The CSV upload's preview and the dataset page's type selector in a real browser (Debian's Chromium driven by
Playwright) against a real `fitstudio api` server (no worker: nothing here trains).

A person uploads a semicolon-separated, decimal-comma, Latin-1 file the test builds: the preview shows what was
detected (`;`, decimal `,`, five columns, the encoding warning), they set the encoding (the preview runs again
without the warning), upload, see a numeric column's statistics, change a column's type and see the count of
values that do not parse after the reload. The preview's screenshot is docs/screenshots/upload-preview.png when
$FITSTUDIO_TEST_SCREENSHOTS points there (tests/webui/test_browser.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.webui import test_browser
from tests.webui.test_browser import PASSWORD, Live, shot

page = test_browser.page  # Chromium at 1280×800, failing the test on JavaScript errors or CSP violations

pytestmark = pytest.mark.slow

CITIES = ["München", "Köln", "Düsseldorf", "Zürich"]
ROWS = 40
NOT_NUMBERS = [i for i in range(ROWS) if i % 10 == 3]  # `kennung` values like x3: not numbers


def kunden_csv() -> bytes:
    """40 customers as Excel writes them in Germany: `;`, decimal commas, Latin-1, CRLF."""
    lines = ["kunde;stadt;umsatz;menge;kennung"]
    for i in range(ROWS):
        kennung = f"x{i}" if i in NOT_NUMBERS else str(100 + i)
        lines.append(f"K{i:03d};{CITIES[i % 4]};{3 * i + 1},{i:02d};{i % 7};{kennung}")
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def _log_in_to_a_new_project(page: Any, live: Live, key: str, name: str) -> None:
    """Log in as ada and create project KEY, whose page is then open with its scripts listening."""
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    page.fill('input[name="key"]', key)
    page.fill('input[name="name"]', name)
    page.click('button:has-text("Create project")')
    expect(page).to_have_url(f"{live.url}/projects/{key}")
    page.wait_for_load_state()  # the page scripts listen for the file input from DOMContentLoaded on


def test_a_person_previews_a_european_csv_uploads_it_and_corrects_a_type(page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    csv = live.log.parent / "kunden.csv"
    csv.write_bytes(kunden_csv())

    _log_in_to_a_new_project(page, live, "KUNDEN", "Kunden")

    # Choosing the file previews it: what was detected, the encoding guess as a warning, the columns' types.
    preview = page.locator("#csv-preview")
    page.set_input_files('#upload-form input[type="file"]', str(csv))
    expect(page.locator('#upload-form input[name="name"]')).to_have_value("kunden")
    expect(preview.locator(".sniff-rows thead th")).to_have_count(5)
    expect(preview.locator('select[name="delimiter"]')).to_have_value(";")
    expect(preview.locator('select[name="decimal"]')).to_have_value(",")
    expect(preview.locator('input[name="encoding"]')).to_have_value("cp1252")
    expect(preview.locator(".preview-warnings li")).to_contain_text(["not UTF-8"])
    expect(preview.locator('th[data-column="umsatz"] .badge')).to_have_text("numeric")
    expect(preview.locator(".sniff-rows tbody tr").first).to_contain_text("München")
    shot(page, live, "upload-preview")

    # Giving the encoding previews again with it: the warning goes.
    preview.locator('input[name="encoding"]').fill("latin-1")
    preview.locator('input[name="encoding"]').blur()
    expect(preview.locator(".preview-warnings li")).to_have_count(0)
    expect(preview.locator(".sniff-rows tbody tr").nth(1)).to_contain_text("Köln")
    expect(preview.locator("label.detected")).to_have_count(8)  # all but the encoding and the null markers

    # Upload: the whole file, with only the option the person set; the rest detected as in the preview.
    page.click('#upload-form button[type="submit"]')
    page.wait_for_url("**/datasets/*")
    expect(page.locator(".page-head")).to_contain_text(f"{ROWS} rows · 5 columns")
    dataset_id = page.url.rsplit("/", 1)[1]
    source = page.request.get(f"/api/v1/datasets/{dataset_id}").json()["source"]
    assert (source["delimiter"], source["decimal"], source["encoding"]) == (";", ",", "iso8859-1")
    assert "encoding" not in source["detected"] and "delimiter" in source["detected"]
    expect(page.locator('tr[data-column="umsatz"] .stat-values')).to_contain_text("1 – 118.4, mean")

    # Correct a type: the answer counts the values that do not parse, and so does the page after its reload.
    page.select_option('tr[data-column="kennung"] select.column-type', "numeric")
    status = page.locator('tr[data-column="kennung"] .column-type-status')
    expect(status).to_contain_text(f"{len(NOT_NUMBERS)} values do not parse as numeric")
    unparseable = page.locator('tr[data-column="kennung"] .badge.hint.warn')
    expect(unparseable).to_have_text(f"{len(NOT_NUMBERS)} unparseable")
    expect(page.locator('tr[data-column="kennung"] select.column-type')).to_have_value("numeric")
    expect(page.locator('tr[data-column="kennung"] .column-type-status')).to_have_text("")


def test_packed_files_and_workbooks_are_uploaded_asking_which_table_or_sheet(page: Any, live: Live) -> None:
    import gzip

    from playwright.sync_api import expect

    packed = live.log.parent / "kunden.csv.gz"
    packed.write_bytes(gzip.compress(kunden_csv()))
    _log_in_to_a_new_project(page, live, "PACKED", "Packed")

    member = page.locator("#archive-member")
    zipped = live.log.parent / "kaggle.zip"
    zipped.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty archive: only its name matters here
    page.set_input_files('#upload-form input[type="file"]', str(zipped))
    expect(member).to_be_visible()  # a .zip of tables: which one to read
    page.fill('#upload-form input[name="name"]', "")

    preview = page.locator("#csv-preview")
    page.set_input_files('#upload-form input[type="file"]', str(packed))
    expect(member).to_be_hidden()
    expect(page.locator('#upload-form input[name="name"]')).to_have_value("kunden")
    expect(preview.locator(".sniff-rows thead th")).to_have_count(5)
    expect(preview.locator('select[name="delimiter"]')).to_have_value(";")
    expect(preview.locator(".sniff-rows tbody tr").first).to_contain_text("München")
    page.click('#upload-form button[type="submit"]')
    page.wait_for_url("**/datasets/*")
    expect(page.locator(".page-head")).to_contain_text(f"{ROWS} rows · 5 columns")
    dataset_id = page.url.rsplit("/", 1)[1]
    assert page.request.get(f"/api/v1/datasets/{dataset_id}").json()["source"]["compression"] == "gzip"

    # A workbook, Excel's or LibreOffice's: previewed, its sheets offered, and the dataset is the sheet chosen.
    from tests.server.api.test_other_workbooks import _ods
    from tests.server.api.test_spreadsheets import _xlsx

    sheets = {"Kunden": [["id", "name"], [1, "Anna"], [2, "Ben"]], "Notizen": [["nichts"]]}
    for workbook, built in (("Kunden 2024.xlsx", _xlsx(sheets)), ("Kunden Calc.ods", _ods(sheets))):
        path = live.log.parent / workbook
        path.write_bytes(built)
        page.goto(f"{live.url}/projects/PACKED")
        page.wait_for_load_state()
        page.set_input_files('#upload-form input[type="file"]', str(path))
        expect(page.locator("#workbook-sheet")).to_be_visible()
        expect(preview).to_be_visible()
        expect(preview.locator("legend")).to_have_text("How the sheet is read")
        expect(preview.locator(".preview-warnings")).to_contain_text("the first of the workbook's 2 sheets, 'Kunden'")
        expect(preview.locator(".sniff-rows tbody tr").first).to_contain_text("Anna")
        expect(page.locator("#workbook-sheets option")).to_have_count(2)
        expect(page.locator('#upload-form input[name="sheet"]')).to_have_attribute("placeholder", "Kunden")
        expect(preview.locator('select[name="delimiter"]')).to_be_hidden()  # a sheet has no delimiter to choose
        expect(preview.locator('input[name="skip_rows"]')).to_be_visible()
        expect(page.locator('#upload-form input[name="name"]')).to_have_value(workbook.rsplit(".", 1)[0])
        sheet = page.locator('#upload-form input[name="sheet"]')
        sheet.fill("Notizen")
        sheet.dispatch_event("change")
        expect(preview.locator(".preview-status")).to_contain_text("'Notizen' holds no table")
        sheet.fill("Kunden")
        sheet.dispatch_event("change")
        expect(preview.locator(".preview-status")).to_contain_text("2 columns; the first 2 rows")
        expect(preview.locator(".preview-warnings")).not_to_contain_text("the first of the workbook")
        page.click('#upload-form button[type="submit"]')
        page.wait_for_url("**/datasets/*")
        expect(page.locator(".page-head")).to_contain_text("2 rows · 2 columns")
